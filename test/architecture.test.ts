import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shape of src/: no import cycles, the environment read only by the command line, and files small
 * enough to have one job. Reads the sources as text (no build step), so it runs in milliseconds.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const MAX_LINES = 300;

/** Where `process.env` may be read: the command line, which passes what it read to everything else. */
const ENV_READERS = ['commands/', 'cli.ts', 'main.ts', 'dev-commands.ts'];

/** Files allowed over MAX_LINES, each with its reason. */
const LONG_FILES: Record<string, string> = {
  'config/variables.ts':
    'the declarative table of every environment variable, one row each; .env.example is generated from it',
};

function sourceFiles(dir: string = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Relative imports of a module, type-only ones included (a cycle of types is still two modules that
 * cannot be understood apart): `import … from`, `export … from`, side-effect `import '…'`, `import('…')`.
 */
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? m[2])!));
    graph.set(
      file,
      [...new Set(targets)].filter((t) => known.has(t)),
    );
  }
  return graph;
}

/** Every cycle's modules (strongly connected components of more than one module, or a self-import). */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

const rel = (file: string) => relative(SRC, file).split('\\').join('/');
const lineCount = (file: string) => readFileSync(file, 'utf8').split('\n').length - 1;

describe('architecture of src/', () => {
  const files = sourceFiles();

  it('finds the sources it checks', () => {
    expect(files.map(rel)).to.include.members(['cli.ts', 'worker/worker.ts', 'config.ts']);
  });

  it('the cycle finder sees a cycle, type-only imports included', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(importCycles(graph)).to.deep.equal([['a', 'b', 'c']]);
    const text = "import type { X } from './b.ts';\nexport { y } from '../c.ts';\nawait import('./d.ts');";
    expect([...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2])).to.deep.equal([
      './b.ts',
      '../c.ts',
      './d.ts',
    ]);
  });

  it('has no import cycle among its modules', () => {
    const cycles = importCycles(importGraph(files)).map((c) => c.map(rel).join(' -> '));
    expect(cycles, 'modules importing each other, directly or around a loop').to.deep.equal([]);
  });

  it('reads process.env only in the command line (src/commands/, cli.ts, main.ts, dev-commands.ts)', () => {
    const readers = files
      .filter((f) => /\bprocess\.env\b/.test(readFileSync(f, 'utf8')))
      .map(rel)
      .filter(
        (f) =>
          !ENV_READERS.some((allowed) => (allowed.endsWith('/') ? f.startsWith(allowed) : f === allowed)),
      );
    expect(readers, 'pass the environment (or what was read from it) in from the command').to.deep.equal([]);
  });

  it(`keeps every file at ${MAX_LINES} lines or fewer, but for the listed declarative tables`, () => {
    const long = files
      .filter((f) => lineCount(f) > MAX_LINES && !(rel(f) in LONG_FILES))
      .map((f) => `${rel(f)} (${lineCount(f)} lines)`);
    expect(long, 'split by responsibility').to.deep.equal([]);
  });

  it('lists no file as long that is not (a stale entry would let the file grow again)', () => {
    const stale = Object.keys(LONG_FILES).filter((f) => {
      const path = join(SRC, f);
      return !files.includes(path) || lineCount(path) <= MAX_LINES;
    });
    expect(stale, 'remove these from LONG_FILES').to.deep.equal([]);
  });
});
