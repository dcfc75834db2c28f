import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { ConfigError } from '../../src/config.ts';
import { exitCodeOf, formatHuman, validateFile, type ValidateReport } from '../../src/commands/validate.ts';
import { loadIngestOptions } from '../../src/ingest/options.ts';
import { runCli } from './helpers.ts';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bad', `${name}.csv`);

function report(overrides: Partial<ValidateReport>): ValidateReport {
  return {
    file: 'products.csv',
    ok: false,
    currency: 'USD',
    currencySource: 'option',
    counts: { total: 0, accepted: 0, rejected: 0 },
    rejected: [],
    duplicates: [],
    ...overrides,
  };
}

describe('validate command', function () {
  this.timeout(30_000);

  it('prints a summary and one `line N (id X): reason` per rejection', () => {
    const text = formatHuman(
      report({
        counts: { total: 3, accepted: 1, rejected: 2 },
        rejected: [
          { line: 3, id: 'SKU-2', reason: 'price "-1" is negative' },
          { line: 5, id: null, reason: 'id is empty (required)' },
        ],
        duplicates: [{ id: 'SKU-1', lines: [2, 4] }],
      }),
    );
    expect(text).to.equal(
      'products.csv: 3 records, 1 valid, 2 rejected\n' +
        'line 3 (id SKU-2): price "-1" is negative\n' +
        'line 5 (no id): id is empty (required)\n' +
        'note: 1 id occurs on more than one line; the last line is the one synced: SKU-1 (lines 2, 4)\n',
    );
    expect(formatHuman(report({ ok: true }))).to.equal('products.csv: OK, header only: nothing to sync\n');
    expect(formatHuman(report({ problem: 'gzip', message: 'the file is gzip-compressed' }))).to.match(
      /^products.csv: unusable \(gzip\): the file is gzip-compressed\n/,
    );
  });

  it('maps results to exit codes: 0 clean, 1 rows rejected, 2 unusable', () => {
    expect(exitCodeOf(report({ ok: true, counts: { total: 2, accepted: 2, rejected: 0 } }))).to.equal(0);
    expect(exitCodeOf(report({ counts: { total: 2, accepted: 1, rejected: 1 } }))).to.equal(1);
    expect(exitCodeOf(report({ problem: 'not-utf8' }))).to.equal(2);
  });

  it('reports a file it cannot open as unreadable (exit 2)', async () => {
    const { options } = loadIngestOptions({}, 'USD');
    const missing = path.join(repoRoot, 'test', 'fixtures', 'bad', 'no-such-file.csv');
    const result = await validateFile(missing, () => createReadStream(missing), options, 'option');
    expect(result).to.deep.include({ ok: false, problem: 'unreadable' });
    expect(result.message).to.match(/ENOENT/);
    expect(exitCodeOf(result)).to.equal(2);
  });

  it('takes the currency from --currency, else CATALOG_CURRENCY, else assumes USD', () => {
    expect(loadIngestOptions({ CATALOG_CURRENCY: 'gbp' }, 'eur')).to.deep.include({
      currencySource: 'option',
    });
    expect(loadIngestOptions({ CATALOG_CURRENCY: 'gbp' }).options.currency).to.equal('GBP');
    expect(loadIngestOptions({ CATALOG_CURRENCY: 'gbp' }).currencySource).to.equal('env');
    expect(loadIngestOptions({})).to.deep.include({ currencySource: 'assumed' });
    expect(loadIngestOptions({}).options.currency).to.equal('USD');
    expect(() => loadIngestOptions({ TITLE_MAX_LENGTH: 'many' }, 'usd')).to.throw(
      ConfigError,
      /TITLE_MAX_LENGTH/,
    );
    expect(() => loadIngestOptions({}, 'US')).to.throw(ConfigError, /--currency/);
  });

  it('runs as a CLI: human output, the assumed-currency note, exit 1 for rejected rows', async () => {
    const run = await runCli(['validate', fixture('duplicate-ids')]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal(
      `${fixture('duplicate-ids')}: 6 records, 5 valid, 1 rejected\n` +
        'line 5 (id SKU-2): price "-1" is negative\n' +
        'note: 1 id occurs on more than one line; the last line is the one synced: SKU-1 (lines 2, 4, 6)\n',
    );
    expect(run.stderr).to.match(
      /no catalog currency given \(--currency or CATALOG_CURRENCY\): bare prices were checked as USD/,
    );
  });

  it('uses CATALOG_CURRENCY for bare prices and exits 2 on a bad option', async () => {
    const [jpy, bad] = await Promise.all([
      runCli(['validate', '--json', fixture('bom')], { CATALOG_CURRENCY: 'JPY' }),
      runCli(['validate', '--currency', 'dollars', fixture('bom')]),
    ]);
    const parsed = JSON.parse(jpy.stdout) as ValidateReport;
    expect(parsed).to.deep.include({ currency: 'JPY', currencySource: 'env' });
    // 9.99 has decimals JPY does not have
    expect(parsed.rejected.map((r) => r.reason)).to.deep.equal([
      'price "9.99" has 2 decimal places but JPY has 0',
      'price "9.99" has 2 decimal places but JPY has 0',
    ]);
    expect(jpy.code).to.equal(1);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--currency must be an ISO 4217 code/);
  });

  it('explains the exit codes in --help, and a usage error exits 2, not 1', async () => {
    const [help, usage] = await Promise.all([runCli(['validate', '--help']), runCli(['validate'])]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/Exit codes:\n {2}0 {2}every record is valid/);
    expect(help.stdout).to.match(/ {2}1 {2}some records are rejected/);
    expect(help.stdout).to.match(/ {2}2 {2}the file is unusable as a whole/);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/missing required argument/);
  });
});
