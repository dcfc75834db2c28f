import { manifestFolder } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import {
  GetBucketNotificationConfigurationCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { opsClients } from './aws-clients.ts';
import { awsErrorMessage, OpsError } from '../ops/errors.ts';
import { hourKey } from '../shared/hours.ts';
import { parseManifest } from '../ops/records.ts';
import { readJson } from '../ops/synced-documents.ts';
import { createProgress, formatDuration, type Progress } from '../progress.ts';

/**
 * `catalog-sync put <file.csv>… [--key K] [--wait]`: drops files into the landing prefix with the SDK (no
 * AWS CLI needed), and with --wait follows them until every item is final: a manifest covering the
 * uploaded object (bucket, key and ETag, as the DAG matches them) is `finished` or `archived` with
 * `counts.unknown` 0. The sandbox's drop folder uploads through the same function.
 */

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 3;

export interface Uploaded {
  file: string;
  bucket: string;
  key: string;
  /** Unquoted, as S3 events and manifests carry it. */
  etag: string;
  versionId: string | null;
  size: number;
  uploadedAt: string;
}

export interface ManifestOutcome {
  key: string;
  manifestId: string;
  state: string;
  /** The whole manifest's item counts (a window may hold other files too: `otherFiles`). */
  items: { total: number; accepted: number; rejected: number; superseded: number; unknown: number };
  otherFiles: number;
  /** This file's rows as the worker read them. */
  rows: { total: number; valid: number; rejected: number; unchanged: number; older: number } | null;
  fileError: string | null;
  reportKeys: string[];
}

export interface FileOutcome extends Uploaded {
  final: boolean;
  manifests: ManifestOutcome[];
}

/** The landing key of a file: --key when given, else the landing prefix and the file's name. */
export function landingKeyFor(landingPrefix: string, file: string, key?: string): string {
  if (key !== undefined) return key.replace(/^\/+/, '');
  return `${landingPrefix}${path.basename(file)}`;
}

export async function uploadFile(s3: S3Client, bucket: string, key: string, file: string): Promise<Uploaded> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    throw new OpsError(`cannot read ${file}: ${(err as Error).message}`, { file });
  }
  let out;
  try {
    out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' }),
    );
  } catch (err) {
    throw new OpsError(
      `could not upload ${file} to s3://${bucket}/${key}: ${awsErrorMessage(err)} ` +
        '(check LANDING_BUCKET, AWS_REGION, AWS_ENDPOINT_URL and your credentials)',
      { file, bucket, key },
      { cause: err },
    );
  }
  return {
    file,
    bucket,
    key,
    etag: (out.ETag ?? '').replace(/"/g, ''),
    versionId: out.VersionId ?? null,
    size: body.length,
    uploadedAt: new Date().toISOString(),
  };
}

function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * Uploads with the bucket's event notification switched off around the put, so S3 sends no event: what a
 * lost event looks like to the worker. Only against a local emulator (the sandbox's moto).
 */
export async function uploadWithoutEvent(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  endpoint: string | undefined,
): Promise<Uploaded> {
  if (!isLoopback(endpoint))
    throw new ConfigError([
      "--lose-event switches the bucket's event notification off for a moment: it is only allowed when " +
        `AWS_ENDPOINT_URL points at a local emulator on this machine (it is ${endpoint ? `"${endpoint}"` : 'not set'})`,
    ]);
  const saved = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const { $metadata: _m, ...config } = saved;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
  );
  try {
    return await uploadFile(s3, bucket, key, file);
  } finally {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }),
    );
  }
}

interface Cached {
  etag: string;
  manifest: Manifest | null;
}

/** The UTC hours whose manifest folders may hold a file's window: its upload hour and the ones beside it. */
function hoursAround(iso: string): string[] {
  const t = Date.parse(iso);
  return [hourKey(new Date(t - 3_600_000)), hourKey(new Date(t)), hourKey(new Date(t + 3_600_000))];
}

function rawSources(m: Manifest): { bucket: string; key: string; etag: string; versionId?: string | null }[] {
  return m.sources as unknown as { bucket: string; key: string; etag: string; versionId?: string | null }[];
}

function coversUpload(m: Manifest, u: Uploaded): boolean {
  return rawSources(m).some(
    (s) =>
      s.bucket === u.bucket &&
      s.key === u.key &&
      s.etag === u.etag &&
      // The same bytes uploaded again get the same ETag; the version tells the uploads apart.
      (u.versionId === null ||
        s.versionId === undefined ||
        s.versionId === null ||
        s.versionId === u.versionId),
  );
}

function isFinal(m: Manifest): boolean {
  return (m.state === 'finished' || m.state === 'archived') && (m.counts?.unknown ?? 1) === 0;
}

export function outcomeOf(key: string, m: Manifest, u: Uploaded): ManifestOutcome {
  const source = m.sources.find((s) => s.bucket === u.bucket && s.key === u.key && s.etag === u.etag);
  const reportKeys = [
    ...(source?.errorReportKey ? [source.errorReportKey] : []),
    ...(m.errorReportKeys ?? []),
  ];
  const counts = m.counts as Manifest['counts'] & { superseded?: number };
  return {
    key,
    manifestId: m.manifestId,
    state: m.state,
    items: {
      total: counts.items,
      accepted: counts.accepted,
      rejected: counts.rejected,
      superseded: counts.superseded ?? 0,
      unknown: counts.unknown,
    },
    otherFiles: m.sources.length - 1,
    rows: source?.rows
      ? {
          total: source.rows.total,
          valid: source.rows.valid,
          rejected: source.rows.rejected,
          unchanged: source.rows.unchanged,
          older: source.rows.older,
        }
      : null,
    fileError: source?.fileError ?? null,
    reportKeys: [...new Set(reportKeys)],
  };
}

export interface WaitOptions {
  s3: S3Client;
  syncedBucket: string;
  syncedPrefix: string;
  uploads: Uploaded[];
  timeoutMs: number;
  pollMs?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

/**
 * Polls the manifests of the files' hours until every upload is covered by at least one manifest and every
 * covering manifest (abandoned ones aside) is final. A manifest is read again only when its ETag changed.
 */
export async function waitUntilFinal(options: WaitOptions): Promise<FileOutcome[]> {
  const { s3, syncedBucket, syncedPrefix, uploads } = options;
  const cache = new Map<string, Cached>();
  const deadline = Date.now() + options.timeoutMs;
  const hours = [...new Set(uploads.flatMap((u) => hoursAround(u.uploadedAt)))];
  for (;;) {
    for (const hour of hours) {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: syncedBucket,
            Prefix: manifestFolder(syncedPrefix, hour),
            ContinuationToken: token,
          }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key?.endsWith('.json')) continue;
          const etag = o.ETag ?? '';
          if (cache.get(o.Key)?.etag === etag) continue;
          const read = await readJson(s3, syncedBucket, o.Key);
          const parsed = read.found && 'value' in read ? parseManifest(read.value) : null;
          cache.set(o.Key, { etag, manifest: parsed?.ok ? parsed.value : null });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    const outcomes: FileOutcome[] = uploads.map((u) => {
      const covering = [...cache.entries()]
        .filter(([, c]) => c.manifest && c.manifest.state !== 'abandoned' && coversUpload(c.manifest, u))
        .map(([key, c]) => ({ key, m: c.manifest! }));
      return {
        ...u,
        final: covering.length > 0 && covering.every(({ m }) => isFinal(m)),
        manifests: covering.map(({ key, m }) => outcomeOf(key, m, u)),
      };
    });
    if (options.progress) {
      const all = outcomes.flatMap((o) => o.manifests);
      const total = all.reduce((n, m) => n + m.items.total, 0);
      const done = all.reduce((n, m) => n + m.items.accepted + m.items.rejected + m.items.superseded, 0);
      const waiting = outcomes.filter((o) => o.manifests.length === 0).length;
      const states = [...new Set(all.map((m) => m.state))].join('/');
      const status = waiting > 0 ? `${waiting} file(s) not yet picked up by the worker` : states || 'waiting';
      options.progress.update(done, { total: total || null, status });
    }
    if (outcomes.every((o) => o.final)) return outcomes;
    if (options.signal?.aborted || Date.now() >= deadline) return outcomes;
    await delay(options.pollMs ?? 1000, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

export function exitCodeOfOutcomes(outcomes: FileOutcome[]): number {
  if (outcomes.some((o) => !o.final)) return EXIT_TIMEOUT;
  const bad = outcomes.some((o) =>
    o.manifests.some((m) => m.fileError !== null || (m.rows?.rejected ?? 0) > 0 || m.items.rejected > 0),
  );
  return bad ? EXIT_REJECTED : EXIT_OK;
}

export function renderOutcome(o: FileOutcome, elapsedMs: number): string {
  const lines: string[] = [];
  if (!o.final) {
    const where =
      o.manifests.length === 0
        ? 'no manifest covers it yet: the worker has not flushed it (is it running? `catalog-sync status`)'
        : `manifest ${o.manifests.map((m) => `${m.manifestId} is ${m.state}`).join(', ')}`;
    lines.push(`${o.key}: not final after ${formatDuration(elapsedMs)}: ${where}`);
  } else {
    lines.push(`${o.key}: final after ${formatDuration(elapsedMs)}`);
  }
  for (const m of o.manifests) {
    if (m.fileError) lines.push(`  file unusable: ${m.fileError}`);
    if (m.rows)
      lines.push(
        `  rows: ${m.rows.valid} valid, ${m.rows.rejected} rejected, ${m.rows.unchanged} unchanged, ` +
          `${m.rows.older} older than what was sent (of ${m.rows.total})`,
      );
    const others = m.otherFiles > 0 ? `, with ${m.otherFiles} other file(s) of its window` : '';
    lines.push(
      `  items (manifest ${m.manifestId}, ${m.state}${others}): ${m.items.accepted} accepted, ` +
        `${m.items.rejected} rejected, ${m.items.superseded} superseded, ${m.items.unknown} unknown`,
    );
    for (const k of m.reportKeys) lines.push(`  report: ${k}`);
  }
  return lines.join('\n');
}

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
