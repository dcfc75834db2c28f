import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../tools/local-aws/moto-server.ts';
import { benchStateStores } from './state-store.ts';
import { benchWorkerProcess } from './worker-process.ts';

/**
 * The benchmark: `npm run bench` (all), or `npm run bench -- --only file|e2e|idle|state|worker|render
 * [--sizes 5000,100000] [--pairs 5]` (`--e2e-stores s3,dynamodb`, `--state-catalogs 5000,100000,1000000
 * --state-changed 5000`, `--worker-sizes 100000,1000000`).
 * Writes bench/results/<timestamp>.json and bench/results/latest.md. Numbers depend on the machine and on
 * what else runs on it; the load average at the start is recorded with them.
 */

const resultsDir = path.join(repoRoot, 'bench', 'results');
const notesFile = path.join(resultsDir, 'notes.md');

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    sizes: { type: 'string' },
    'e2e-sizes': { type: 'string' },
    'idle-seconds': { type: 'string', default: '60' },
    'e2e-stores': { type: 'string' },
    'state-catalogs': { type: 'string' },
    'state-changed': { type: 'string' },
    'state-ddb-sample': { type: 'string' },
    'worker-sizes': { type: 'string' },
    pairs: { type: 'string' },
  },
});

import { benchEndToEnd, benchIdle } from './end-to-end.ts';
import { benchFilePath, fileFor, type Row } from './file-sections.ts';

function table(rows: Row[]): string {
  if (rows.length === 0) return '(not run)\n';
  const cols = Object.keys(rows[0]!);
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => String(r[c])).join(' | ')} |`),
  ].join('\n');
}

const only = args.only;
const sizes = (args.sizes ?? '5000,100000,1000000').split(',').map(Number);
const e2eSizes = (args['e2e-sizes'] ?? '5000,100000').split(',').map(Number);
const e2eStores = (args['e2e-stores'] ?? 's3,dynamodb').split(',') as ('s3' | 'dynamodb')[];
const stateCatalogs = (args['state-catalogs'] ?? '5000,100000,1000000').split(',').map(Number);
const stateChanged = Number(args['state-changed'] ?? 5000);
const stateSample = Number(args['state-ddb-sample'] ?? 100_000);
const workerSizes = (args['worker-sizes'] ?? '100000,1000000').split(',').map(Number);
/** Back-to-back raw/pipeline pairs per size in section 1: 5 up to 100k rows, 3 above. */
const pairsFor = (rows: number): number => Number(args.pairs ?? (rows <= 100_000 ? 5 : 3));

/** 5. The real worker process (bin/catalog-sync worker) on one file per size: peak RSS and file rate. */
async function benchWorker(sizes: number[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const rows of sizes) {
    // In a 512 MiB task, the size the targets are set for: the launcher caps the heap from it.
    out.push(
      await benchWorkerProcess({
        file: await fileFor(rows),
        rows,
        stateStore: 'dynamodb',
        extraEnv: { TASK_MEMORY_MIB: '512' },
      }),
    );
  }
  return out;
}
const started = new Date();
const machine = {
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? '?',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
};
const results = {
  startedAt: started.toISOString(),
  machine,
  filePath: !only || only === 'file' ? await benchFilePath(sizes, pairsFor) : [],
  endToEnd: !only || only === 'e2e' ? await benchEndToEnd(e2eSizes, e2eStores) : [],
  idle: !only || only === 'idle' ? [await benchIdle(Number(args['idle-seconds']))] : [],
  stateStore:
    !only || only === 'state'
      ? await benchStateStores({ catalogs: stateCatalogs, changed: stateChanged, ddbSample: stateSample })
      : [],
  workerProcess: !only || only === 'worker' ? await benchWorker(workerSizes) : [],
};
await mkdir(resultsDir, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-');
// `--only render` measures nothing: latest.md is written again from the newest runs (after notes.md changed).
const render = only === 'render';
if (!render) await writeFile(path.join(resultsDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);

// A partial run (--only) keeps latest.md whole: each section not run now shows the newest earlier run
// that has it, and says which run that was.
type Section = 'filePath' | 'endToEnd' | 'idle' | 'stateStore' | 'workerProcess';
const from: Partial<Record<Section, string>> = {};
/** Earlier runs the worker rows not measured now come from. */
let workerRuns: string[] = [];
if (only) {
  const earlier = (await readdir(resultsDir))
    .filter((f) => /^\d{4}-.*\.json$/.test(f) && f !== `${stamp}.json`)
    .sort()
    .reverse();
  for (const section of ['filePath', 'endToEnd', 'idle', 'stateStore', 'workerProcess'] as const) {
    if (section === 'workerProcess') {
      // One row per file size and store, each from the newest run that measured it (runs are often one size).
      const seen = new Set(results.workerProcess.map((r) => `${r.rows}/${r.stateStore}`));
      const runs: string[] = [];
      for (const f of earlier) {
        const prev = JSON.parse(await readFile(path.join(resultsDir, f), 'utf8')) as Partial<typeof results>;
        for (const r of prev.workerProcess ?? []) {
          const key = `${r.rows}/${r.stateStore}`;
          if (seen.has(key)) continue;
          seen.add(key);
          results.workerProcess.push(r);
          if (!runs.includes(prev.startedAt ?? f)) runs.push(prev.startedAt ?? f);
        }
      }
      if (runs.length > 0) workerRuns = runs;
      continue;
    }
    if (results[section].length > 0) continue;
    for (const f of earlier) {
      const prev = JSON.parse(await readFile(path.join(resultsDir, f), 'utf8')) as Partial<typeof results>;
      const rows = prev[section];
      if (rows && rows.length > 0) {
        (results[section] as Row[]) = rows as Row[];
        from[section] = prev.startedAt ?? f;
        break;
      }
    }
  }
}
const origin = (section: Section) =>
  from[section]
    ? [`(from the run of ${from[section]}; machine and load as recorded in its JSON)`, '']
    : section === 'workerProcess' && workerRuns.length > 0
      ? [`(rows not measured in this run: from the runs of ${workerRuns.join(', ')}; see their JSON)`, '']
      : [];
const md = [
  render
    ? `# Benchmark results (assembled ${results.startedAt})`
    : `# Benchmark results (${results.startedAt})`,
  '',
  render
    ? 'Each section comes from the run it names; the machine and its load are recorded in that run’s JSON.'
    : `Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GiB, load average at start ${machine.loadAverageAtStart.join(' / ')}.`,
  'Targets: ratio ≥ 0.6 of fast-csv raw; peak RSS ≤ 300 MB at 100k rows, ≤ 450 MB at 1M; items_batch calls = ceil(K/5000);',
  'idle ≤ 3 SQS requests a minute and no S3 requests. Rerun: `npm run bench` (see bench/run.ts for options).',
  '',
  '## 1. File path (parse → validate → map → dedupe → request payloads)',
  '',
  ...origin('filePath'),
  table(results.filePath),
  '',
  '## 2. End to end in the sandbox (moto + simulator)',
  '',
  ...origin('endToEnd'),
  table(results.endToEnd),
  '',
  '## 3. Idle worker',
  '',
  ...origin('idle'),
  table(results.idle),
  '',
  `## 4. Product state I/O of one flush of ${stateChanged} changed products, by store and catalog size`,
  '',
  'Counted at the HTTP layer (every request, the bytes of request and response bodies) for the three',
  'state steps of a flush: read (the gate), decide (merge `decided` with the lease token) and settle (merge',
  '`settled` once the batch is final). S3 is seeded with the whole catalog in its 256 shards; DynamoDB with',
  `the changed products plus a sample (${stateSample} at most) of the others, since its cost depends only on`,
  'the keys a flush touches (see bench/state-store.ts). Target: each step ≤ ceil(K/100) + 2 requests, and',
  'bytes moved independent of catalog size.',
  '',
  ...origin('stateStore'),
  table(results.stateStore),
  '',
  '## 5. The real worker process on one file (`bin/catalog-sync worker`, moto + simulator, STATE_STORE=dynamodb)',
  '',
  'Peak RSS is the process high-water mark (VmHWM); rss*Mb the highest 100 ms sample while reading the file,',
  'flushing (gate, manifest, payloads), sending, and after (MB here: MiB, as /proc reports them). The file',
  'rate is rows over the read time the worker logs (GetObject → last row indexed); its baseline is fast-csv',
  "over the same object's GetObject stream from moto, in the same run. In a 512 MiB task (TASK_MEMORY_MIB).",
  'Targets: peak RSS ≤ 300 MB at 100k rows, ≤ 450 MB at 1M; ratio ≥ 0.6.',
  '',
  ...origin('workerProcess'),
  table(results.workerProcess),
  '',
  // Hand-written analysis that goes with the figures (design notes, what is and is not met).
  existsSync(notesFile) ? await readFile(notesFile, 'utf8') : '',
].join('\n');
if (!render) await writeFile(path.join(resultsDir, `${stamp}.md`), md);
await writeFile(path.join(resultsDir, 'latest.md'), md);
process.stdout.write(md);
