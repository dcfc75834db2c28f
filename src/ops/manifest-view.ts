import { rejectedIn, type Manifest, type ManifestBatch, type ManifestSource } from '../contract/manifest.ts';
import type { MetaRejection, MetaReport } from '../contract/reports.ts';

/** What `status` shows of a manifest: one summary row, or the full detail. Pure. */

export interface ManifestRow {
  hour: string;
  manifestId: string;
  key: string;
  state: string;
  files: number;
  unusableFiles: number;
  rowsRejected: number;
  itemsSent: number;
  calls: number | null;
  accepted: number;
  rejected: number;
  unknown: number;
  updatedAt: string | null;
  /** Set when the document could not be read; the other fields are then zero. */
  error?: string;
}

export function summarizeManifest(hour: string, key: string, m: Manifest): ManifestRow {
  return {
    hour,
    manifestId: m.manifestId,
    key,
    state: m.waiting
      ? `${m.state}: waiting (${m.waiting.reason}) until ${m.waiting.until.slice(11, 19)}Z`
      : m.state === 'submitted' && m.counts.unknown > 0 && m.batches.every((b) => b.status !== 'running')
        ? 'submitted: items of unknown fate (resent, see errors/unknown/)'
        : m.state,
    files: m.sources.length,
    unusableFiles: m.sources.filter((s) => s.fileError).length,
    rowsRejected: m.counts.rowsRejected ?? m.sources.reduce((n, s) => n + (s.rows?.rejected ?? 0), 0),
    itemsSent: m.counts.items,
    calls: m.counts.calls ?? null,
    accepted: m.counts.accepted,
    rejected: m.counts.rejected,
    unknown: m.counts.unknown,
    updatedAt: m.updatedAt ?? null,
  };
}

export function unreadableRow(hour: string, key: string, error: string): ManifestRow {
  const id =
    key
      .split('/')
      .pop()
      ?.replace(/\.json$/, '') ?? key;
  return {
    hour,
    manifestId: id,
    key,
    state: 'unreadable',
    files: 0,
    unusableFiles: 0,
    rowsRejected: 0,
    itemsSent: 0,
    calls: null,
    accepted: 0,
    rejected: 0,
    unknown: 0,
    updatedAt: null,
    error,
  };
}

/** An item Meta rejected; source file and line when a Meta report names them. */
export type RejectedItem = MetaRejection;

/** A batch as `status --manifest` lists it. */
export interface BatchRow {
  index: number;
  itemCount: number;
  handle: string | null;
  status: ManifestBatch['status'];
  attempts: number;
  errorsTotal: number | null;
  warningsTotal: number | null;
  finishedAt: string | null;
}

function batchRow(b: ManifestBatch): BatchRow {
  const final = b.status === 'finished' || b.status === 'error';
  return {
    index: b.index,
    itemCount: b.itemCount,
    handle: b.handle,
    status: b.status,
    attempts: b.attempts,
    errorsTotal: final ? b.errorsTotal : null,
    warningsTotal: final ? b.warningsTotal : null,
    finishedAt: final ? b.finishedAt : null,
  };
}

export interface ManifestDetail {
  key: string;
  manifest: Pick<
    Manifest,
    | 'manifestId'
    | 'window'
    | 'state'
    | 'catalogId'
    | 'createdAt'
    | 'updatedAt'
    | 'submittedAt'
    | 'finishedAt'
    | 'archivedAt'
    | 'counts'
    | 'errorReportKeys'
    | 'waiting'
  >;
  sources: ManifestSource[];
  batches: BatchRow[];
  rejected: RejectedItem[];
}

export function manifestDetail(key: string, m: Manifest, metaReports: readonly MetaReport[]): ManifestDetail {
  const origin = new Map<string, { key: string | null; line: number | null }>();
  for (const r of metaReports)
    for (const x of r.rejected) origin.set(`${x.batchIndex}/${x.id}`, { key: x.key, line: x.line });
  const rejected: RejectedItem[] = m.batches.flatMap((b) =>
    rejectedIn(b).map((x) => {
      const o = origin.get(`${b.index}/${x.id}`);
      return { id: x.id, reason: x.reason, batchIndex: b.index, key: o?.key ?? null, line: o?.line ?? null };
    }),
  );
  // Rejections only a report knows of (a manifest written before the report was merged) still count.
  const listed = new Set(rejected.map((r) => `${r.batchIndex}/${r.id}`));
  for (const r of metaReports)
    for (const x of r.rejected)
      if (!listed.has(`${x.batchIndex}/${x.id}`))
        rejected.push({ id: x.id, reason: x.reason, batchIndex: x.batchIndex, key: x.key, line: x.line });
  const { sources, batches, schemaVersion: _v, ...manifest } = m;
  return {
    key,
    manifest,
    sources,
    batches: batches.map(batchRow),
    rejected,
  };
}
