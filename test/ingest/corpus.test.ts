import { expect } from 'chai';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { exitCodeOf, validateFile, type ValidateReport } from '../../src/commands/validate.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { loadIngestOptions } from '../../src/ingest/options.ts';
import { FileUnusableError } from '../../src/ingest/types.ts';
import { HEADER, row, runCli, type CliRun } from './helpers.ts';

/**
 * The bad-input corpus: every test/fixtures/bad/<name>.csv has <name>.expected.json, the output of
 * `validate --json --currency USD` without the `file` field, and optionally <name>.env.json with
 * environment variables (COLUMN_MAP, …). Each file goes through readProducts in-process and through the
 * real CLI, and both must match the expected report; the exit code must match the report.
 */

const corpusDir = path.join(repoRoot, 'test', 'fixtures', 'bad');

interface Fixture {
  name: string;
  file: string;
  env: Record<string, string>;
  expected: Omit<ValidateReport, 'file'>;
}

function loadCorpus(): Fixture[] {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.csv'.length);
      const expectedFile = path.join(corpusDir, `${name}.expected.json`);
      const envFile = path.join(corpusDir, `${name}.env.json`);
      return {
        name,
        file: path.join(corpusDir, f),
        env: existsSync(envFile) ? (JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>) : {},
        // A fixture without its expected report fails here, loudly.
        expected: JSON.parse(readFileSync(expectedFile, 'utf8')) as Omit<ValidateReport, 'file'>,
      };
    });
}

/** Runs `tasks` at most `limit` at a time: one CLI per fixture in sequence would take too long. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  });
  await Promise.all(lanes);
  return results;
}

function withoutFile(report: ValidateReport): Omit<ValidateReport, 'file'> {
  const { file: _file, ...rest } = report;
  return rest;
}

describe('bad-input corpus (test/fixtures/bad)', function () {
  this.timeout(60_000);
  const corpus = loadCorpus();

  it('covers every case the issue lists', () => {
    const names = corpus.map((f) => f.name);
    for (const required of [
      'empty',
      'header-only',
      'bom',
      'crlf',
      'quoted-newlines-commas',
      'missing-columns',
      'extra-columns',
      'reordered-columns',
      'duplicate-ids',
      'latin1',
      'gzip',
      'prices-invalid',
      'prices-with-currency',
      'urls-invalid',
      'long-title-description',
      'availability-unknown',
      'empty-required',
      'long-id',
    ]) {
      expect(names, required).to.include(required);
    }
  });

  describe('through readProducts', () => {
    for (const fixture of corpus) {
      it(`${fixture.name}: matches ${fixture.name}.expected.json`, async () => {
        const { options, currencySource } = loadIngestOptions(fixture.env, 'USD');
        const report = await validateFile(
          fixture.file,
          () => createReadStream(fixture.file),
          options,
          currencySource,
        );
        expect(withoutFile(report)).to.deep.equal(fixture.expected);
      });
    }
  });

  describe('through the CLI (bin/catalog-sync validate --json)', () => {
    let runs: CliRun[];
    before(async () => {
      runs = await pooled(
        corpus.map((f) => () => runCli(['validate', '--json', '--currency', 'USD', f.file], f.env)),
        8,
      );
    });
    corpus.forEach((fixture, i) => {
      it(`${fixture.name}: matches ${fixture.name}.expected.json, exit ${exitCodeOf({ file: '', ...fixture.expected })}`, () => {
        const run = runs[i]!;
        expect(run.stderr).to.equal('');
        const report = JSON.parse(run.stdout) as ValidateReport;
        expect(report.file).to.equal(fixture.file);
        expect(withoutFile(report)).to.deep.equal(fixture.expected);
        expect(run.code).to.equal(exitCodeOf(report));
      });
    });
  });

  describe('a 50 MB single line (generated at run time)', () => {
    let dir: string;
    let file: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'corpus-50mb-'));
      file = path.join(dir, 'one-line-50mb.csv');
      const line = Buffer.alloc(50 * 1024 * 1024, 'x');
      await writeFile(file, Buffer.concat([Buffer.from(`${HEADER}\n`), line, Buffer.from(`\n${row(1)}\n`)]));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('is refused as line-too-long on line 2 after reading only a bounded prefix of the file', async () => {
      const { options } = loadIngestOptions({}, 'USD');
      const input = createReadStream(file);
      let caught: unknown;
      try {
        for await (const _event of readProducts(input, options)) expect.fail('no row should come out');
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(FileUnusableError);
      expect((caught as FileUnusableError).problem).to.equal('line-too-long');
      expect((caught as FileUnusableError).line).to.equal(2);
      // The bound is 256 Ki characters; the reader stops within a few 64 KiB chunks of it.
      expect(input.bytesRead).to.be.below(1024 * 1024);
    });

    it('makes the CLI exit 2 with problem line-too-long', async () => {
      const run = await runCli(['validate', '--json', '--currency', 'USD', file]);
      const report = JSON.parse(run.stdout) as ValidateReport;
      expect(run.code).to.equal(2);
      expect(report).to.deep.include({ ok: false, problem: 'line-too-long', line: 2 });
      expect(report.message).to.match(/^line 2: a record is longer than 262144 characters/);
    });
  });
});
