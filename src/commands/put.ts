import { stat } from 'node:fs/promises';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { opsClients } from './aws-clients.ts';
import { landingKeyFor, uploadFile, uploadWithoutEvent, type Uploaded } from '../ops/landing-upload.ts';
import {
  EXIT_TIMEOUT,
  EXIT_USAGE,
  exitCodeOfOutcomes,
  renderOutcome,
  waitUntilFinal,
  type FileOutcome,
} from '../ops/upload-outcome.ts';
import { createProgress } from '../progress.ts';

/**
 * `catalog-sync put <file.csv>… [--key K] [--wait]`: drops files into the landing prefix with the SDK (no
 * AWS CLI needed), and with --wait follows them until every item is final: a manifest covering the
 * uploaded object (bucket, key and ETag, as the DAG matches them) is `finished` or `archived` with
 * `counts.unknown` 0. The sandbox's drop folder uploads through the same function (src/ops/landing-upload.ts).
 */

interface PutFlags {
  key?: string;
  wait?: boolean;
  timeout: number;
  json?: boolean;
  loseEvent?: boolean;
}

const seconds = (raw: string): number => {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1)
    throw new InvalidArgumentError(`expected a whole number of seconds (1 or more), got "${raw}"`);
  return Number(raw);
};

export function registerPut(program: Command): void {
  program
    .command('put')
    .summary('upload CSV files to the landing prefix (no AWS CLI needed), optionally wait for the outcome')
    .description(
      'Uploads each file to s3://$LANDING_BUCKET/$LANDING_PREFIX<file name> (or --key) with the configured ' +
        'region and endpoint, and prints each key. With --wait, follows every file until its items are final ' +
        '(a manifest covering the uploaded object is finished with no item of unknown fate) and prints the ' +
        'outcome: rows read, items accepted, rejected and superseded, and the report keys.',
    )
    .argument('<files...>', 'CSV files to upload')
    .option('--key <key>', 'object key to upload to (one file only; default: LANDING_PREFIX + file name)')
    .option('--wait', 'wait until the items of every file are final, then print the outcome')
    .option('--timeout <s>', 'with --wait: give up after this many seconds (exit 3)', seconds, 600)
    .option('--json', 'print uploads (and outcomes) as JSON on stdout; no progress line')
    .option(
      '--lose-event',
      'sandbox only: upload without the S3 event, as if S3 had lost it (the DAG finds the file later); ' +
        'needs AWS_ENDPOINT_URL on this machine',
    )
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync put samples/products.csv
  catalog-sync put exports/*.csv --wait
  catalog-sync put fix.csv --key landing/2026-11-25/fix-17.csv --wait --json | jq '.outcomes[].manifests'

Reads LANDING_BUCKET and LANDING_PREFIX (default landing/), AWS_REGION and AWS_ENDPOINT_URL; --wait also
SYNCED_BUCKET and SYNCED_PREFIX. On a terminal --wait shows a live line on stderr (items final, rate,
time left); with --json or when stderr is not a terminal it prints only the result.
Exit status: 0 uploaded (with --wait: every item final, nothing rejected), 1 some rows or items were
rejected or a file is unusable, 2 bad usage or configuration, 3 --wait timed out.`,
    )
    // Usage errors must not exit 1, which means "rejected".
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_USAGE, err.code, err.message);
    })
    .action(async (files: string[], flags: PutFlags) => {
      const usage = (message: string) => {
        console.error(`catalog-sync put: ${message}`);
        process.exitCode = EXIT_USAGE;
      };
      if (flags.key !== undefined && files.length > 1)
        return usage(
          `--key names one object, but ${files.length} files were given: drop --key or upload one file at a time`,
        );
      const env = process.env;
      const cfg = loadConfig(env, ['awsRegion', 'landingBucket', 'landingPrefix']);
      const synced = flags.wait ? loadConfig(env, ['syncedBucket', 'syncedPrefix']) : undefined;
      for (const f of files) {
        const s = await stat(f).catch(() => null);
        if (!s?.isFile()) return usage(`${f} is not a file: give the path of a CSV file to upload`);
      }
      const { s3, sqs } = opsClients(cfg.awsRegion, env);
      sqs.destroy();
      const say = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
      };
      try {
        const uploads: Uploaded[] = [];
        for (const file of files) {
          const key = landingKeyFor(cfg.landingPrefix, file, flags.key);
          const u = flags.loseEvent
            ? await uploadWithoutEvent(
                s3,
                cfg.landingBucket,
                key,
                file,
                env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL,
              )
            : await uploadFile(s3, cfg.landingBucket, key, file);
          uploads.push(u);
          say(
            `s3://${u.bucket}/${u.key}  (${u.size} bytes, etag ${u.etag}${flags.loseEvent ? ', no event sent' : ''})`,
          );
        }
        if (!flags.wait || !synced) {
          if (flags.json) process.stdout.write(`${JSON.stringify({ uploads }, null, 2)}\n`);
          return;
        }
        const started = Date.now();
        const progress = createProgress({
          label: `put --wait (${uploads.length} file${uploads.length === 1 ? '' : 's'})`,
          unit: 'items',
          enabled: !flags.json,
        });
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        let outcomes: FileOutcome[];
        try {
          outcomes = await waitUntilFinal({
            s3,
            syncedBucket: synced.syncedBucket,
            syncedPrefix: synced.syncedPrefix,
            uploads,
            timeoutMs: flags.timeout * 1000,
            progress,
            signal: abort.signal,
          });
        } finally {
          progress.finish();
          process.off('SIGINT', onSigint);
        }
        if (flags.json) process.stdout.write(`${JSON.stringify({ uploads, outcomes }, null, 2)}\n`);
        else for (const o of outcomes) say(renderOutcome(o, Date.now() - started));
        process.exitCode = exitCodeOfOutcomes(outcomes);
        if (process.exitCode === EXIT_TIMEOUT)
          console.error(
            `catalog-sync: not every file was final within ${flags.timeout} s; ` +
              '`catalog-sync status` shows where each window is (is the worker running? is Meta throttling?)',
          );
      } finally {
        s3.destroy();
      }
    });
}
