import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { setTimeout as delay } from 'node:timers/promises';
import { hourKey } from '../shared/hours.ts';
import { formatDuration, type Progress } from '../progress.ts';
import { manifestFolder } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import { parseManifest } from './records.ts';
import { readJson } from './synced-documents.ts';
import type { Uploaded } from './landing-upload.ts';

/**
 * Following uploaded files until every item is final: a manifest covering the uploaded object (bucket, key
 * and ETag, as the DAG matches them) is `finished` or `archived` with `counts.unknown` 0.
 */

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 3;
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
