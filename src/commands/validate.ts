import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { CommanderError, type Command } from 'commander';
import { checkFile, type FileCheck } from '../ingest/file-check.ts';
import { loadIngestOptions, type CurrencySource } from '../ingest/options.ts';
import type { FileProblem, IngestOptions } from '../ingest/types.ts';
import { createProgress, type Progress } from '../progress.ts';

/**
 * `catalog-sync validate <file.csv>`: the worker's own reader run offline on a local file, so what it says
 * is exactly what the worker would accept, reject or refuse. Exit 0 clean, 1 some rows rejected, 2 the file
 * is unusable or the check could not run.
 */

export const EXIT_CLEAN = 0;
export const EXIT_ROWS_REJECTED = 1;
export const EXIT_UNUSABLE = 2;

/** What `--json` prints. `problem: 'unreadable'` = the file could not be opened or read at all. */
export interface ValidateReport extends Omit<FileCheck, 'problem'> {
  file: string;
  ok: boolean;
  currency: string;
  currencySource: CurrencySource;
  problem?: FileProblem | 'unreadable';
}

const HELP_AFTER = `
Exit codes:
  0  every record is valid (a header-only file is valid: nothing changed)
  1  some records are rejected; the other records would sync
  2  the file is unusable as a whole (empty, gzip, binary, not UTF-8, missing or duplicate columns,
     a record that never ends), or the check could not run (unreadable file, bad option or configuration)

Currency: bare prices ("9.99") get the catalog currency: --currency, else CATALOG_CURRENCY. With neither,
bare prices are checked as USD (decimal places differ: JPY has none, KWD three) and a note says so.
Also read from the environment, as the worker reads them: COLUMN_MAP, DEFAULT_CONDITION,
TITLE_MAX_LENGTH, DESCRIPTION_MAX_LENGTH (see .env.example).

Lines are the lines a record starts on, header = line 1, as an editor shows them.

On a terminal, a live line on stderr shows the bytes and lines read, the rate and the time left; with
--json, or when stderr is not a terminal, nothing but the result is printed.`;

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("check a CSV file offline against the CSV contract and Meta's field rules")
    .argument('<file.csv>', 'the CSV file to check')
    .option('--json', 'print the result as JSON: counts and every rejection as {line, id, reason}')
    .option('--currency <code>', 'ISO 4217 currency for bare prices (default: CATALOG_CURRENCY)')
    .addHelpText('after', HELP_AFTER)
    // Usage errors must not exit 1, which means "rows rejected".
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_UNUSABLE, err.code, err.message);
    })
    .action(async (file: string, flags: { json?: boolean; currency?: string }) => {
      const { options, currencySource } = loadIngestOptions(process.env, flags.currency);
      const progress = createProgress({
        label: `validate ${file}`,
        unit: 'bytes',
        total: sizeOf(file),
        enabled: !flags.json,
      });
      const open = () =>
        progress.active ? countProgress(createReadStream(file), progress) : createReadStream(file);
      let report: ValidateReport;
      try {
        report = await validateFile(file, open, options, currencySource);
      } finally {
        progress.finish();
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        process.stdout.write(formatHuman(report));
      }
      if (currencySource === 'assumed') {
        process.stderr.write(
          'note: no catalog currency given (--currency or CATALOG_CURRENCY): bare prices were checked as USD\n',
        );
      }
      process.exitCode = exitCodeOf(report);
    });
}

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null; // validateFile reports the file as unreadable
  }
}

/** Passes the bytes on unchanged, reporting bytes read and lines seen to the progress line. */
export function countProgress(input: Readable, progress: Progress): Readable {
  let bytes = 0;
  let lines = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      progress.update(bytes, { status: `${lines.toLocaleString('en-US')} lines` });
      done(null, chunk);
    },
  });
  input.on('error', (err) => counter.destroy(err));
  return input.pipe(counter);
}

export async function validateFile(
  file: string,
  open: () => Readable,
  options: IngestOptions,
  currencySource: CurrencySource,
): Promise<ValidateReport> {
  const head = { file, ok: false, currency: options.currency, currencySource };
  let check: FileCheck;
  try {
    check = await checkFile(open(), options);
  } catch (err) {
    // Not about the content: the file is missing, a directory, unreadable.
    return {
      ...head,
      counts: { total: 0, accepted: 0, rejected: 0 },
      problem: 'unreadable',
      message: `cannot read ${file}: ${(err as Error).message}`,
      rejected: [],
      duplicates: [],
    };
  }
  return { ...head, ...check, ok: check.problem === undefined && check.counts.rejected === 0 };
}

export function exitCodeOf(report: ValidateReport): number {
  if (report.problem !== undefined) return EXIT_UNUSABLE;
  return report.counts.rejected > 0 ? EXIT_ROWS_REJECTED : EXIT_CLEAN;
}

const DUPLICATES_SHOWN = 10;

export function formatHuman(report: ValidateReport): string {
  const out: string[] = [];
  const { total, accepted, rejected } = report.counts;
  if (report.problem !== undefined) {
    out.push(`${report.file}: unusable (${report.problem}): ${report.message ?? ''}`);
    out.push('Nothing in this file would be synced.');
  } else if (total === 0) {
    out.push(`${report.file}: OK, header only: nothing to sync`);
  } else if (rejected === 0) {
    out.push(`${report.file}: OK, ${plural(total, 'record')}, all valid`);
  } else {
    out.push(`${report.file}: ${plural(total, 'record')}, ${accepted} valid, ${rejected} rejected`);
    for (const r of report.rejected)
      out.push(`line ${r.line} (${r.id === null ? 'no id' : `id ${r.id}`}): ${r.reason}`);
  }
  if (report.duplicates.length > 0) {
    const shown = report.duplicates
      .slice(0, DUPLICATES_SHOWN)
      .map((d) => `${d.id} (lines ${d.lines.join(', ')})`)
      .join(', ');
    const more =
      report.duplicates.length > DUPLICATES_SHOWN
        ? `, and ${report.duplicates.length - DUPLICATES_SHOWN} more`
        : '';
    const n = report.duplicates.length;
    out.push(
      `note: ${plural(n, 'id')} ${n === 1 ? 'occurs' : 'occur'} on more than one line; the last line is the one synced: ${shown}${more}`,
    );
  }
  return `${out.join('\n')}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
