import { randomBytes } from 'node:crypto';
import type { BatchFinal } from '../meta/types.ts';
import { windowFolder } from './time-window.ts';
import type { RowCounts, WindowSource } from './window-buffer.ts';

/**
 * The flush manifest (schemas/manifest.schema.json) as TypeScript, and its pure transitions. The schema
 * is the contract with the DAG; these types follow it field for field.
 */

export type ManifestState = 'pending' | 'submitted' | 'finished' | 'archived' | 'abandoned';

export interface ManifestSource {
  bucket: string;
  key: string;
  etag: string;
  versionId: string | null;
  sequencer: string | null;
  eventTime: string;
  size: number | null;
  fileError: string | null;
  errorReportKey: string | null;
  rows: RowCounts;
}

export interface RejectedItem {
  id: string;
  reason: string;
}

interface BatchCommon {
  index: number;
  itemCount: number;
  payloadKey: string;
  payloadBytes: number | null;
  attempts: number;
  /** Set on a batch that re-sends the items of a batch Meta finished with status `error`. */
  resubmitOf: number | null;
  submittedAt: string | null;
  checkedAt: string | null;
}

/** Written, not yet accepted by items_batch. */
export interface UnsentBatch extends BatchCommon {
  status: 'unsent';
  handle: null;
}
/** Accepted by items_batch; Meta still working. */
export interface RunningBatch extends BatchCommon {
  status: 'running';
  handle: string;
}
/** Meta's final word (or items_batch ingested nothing: `error` with no handle). */
export interface FinalBatch extends BatchCommon {
  status: 'finished' | 'error';
  handle: string | null;
  finishedAt: string;
  errorsTotal: number;
  warningsTotal: number;
  rejected: RejectedItem[];
}
export type ManifestBatch = UnsentBatch | RunningBatch | FinalBatch;

export interface ManifestCounts {
  items: number;
  accepted: number;
  rejected: number;
  unknown: number;
  rowsRejected: number;
  calls: number;
}

export interface Manifest {
  schemaVersion: 1;
  manifestId: string;
  window: string;
  state: ManifestState;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  finishedAt: string | null;
  archivedAt?: string | null;
  catalogId: string;
  sources: ManifestSource[];
  batches: ManifestBatch[];
  counts: ManifestCounts;
  errorReportKeys: string[];
}

/** The exact items of one batch, as stored at synced/batches/<manifestId>/<index>.json. */
export interface BatchPayload {
  manifestId: string;
  batchIndex: number;
  requests: { method: 'UPDATE'; data: Record<string, unknown> }[];
  origins: { id: string; key: string; line: number }[];
}

export function newManifestId(window: string, now: number): string {
  return `${windowFolder(window)}-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function manifestKey(syncedPrefix: string, window: string, manifestId: string): string {
  return `${syncedPrefix}manifests/${windowFolder(window)}/${manifestId}.json`;
}

export function manifestFolder(syncedPrefix: string, window: string): string {
  return `${syncedPrefix}manifests/${windowFolder(window)}/`;
}

export function payloadKey(syncedPrefix: string, manifestId: string, index: number): string {
  return `${syncedPrefix}batches/${manifestId}/${index}.json`;
}

export function toManifestSource(source: WindowSource): ManifestSource {
  return {
    bucket: source.bucket,
    key: source.key,
    etag: source.etag,
    versionId: source.versionId,
    sequencer: source.sequencer,
    eventTime: new Date(source.eventTime).toISOString(),
    size: source.size,
    fileError: source.fileError,
    errorReportKey: source.errorReportKey,
    rows: { ...source.rows },
  };
}

/** True when the manifest covers this object version (the DAG's rule: bucket, key and unquoted ETag). */
export function covers(
  manifest: Pick<Manifest, 'sources'>,
  ref: { bucket: string; key: string; etag: string },
) {
  return manifest.sources.some((s) => s.bucket === ref.bucket && s.key === ref.key && s.etag === ref.etag);
}

/** Records Meta's final status on a batch; rejected ids get Meta's sample message when it has one. */
export function finalizeBatch(batch: RunningBatch, status: BatchFinal, at: string): FinalBatch {
  const reasons = new Map<string, string>();
  for (const e of status.errors) if (e.id && !reasons.has(e.id)) reasons.set(e.id, e.message);
  const rejected = status.invalidIds.map((id) => ({
    id,
    reason:
      reasons.get(id) ??
      `rejected by Meta; its error sample (${status.errorsTotal} errors) did not include this id`,
  }));
  return {
    ...batch,
    status: status.kind,
    checkedAt: at,
    finishedAt: at,
    errorsTotal: status.errorsTotal,
    warningsTotal: status.warningsTotal,
    rejected,
  };
}

/** A batch whose outcome counts: not one whose items were sent again by a later batch. */
export function effectiveBatches(batches: readonly ManifestBatch[]): ManifestBatch[] {
  const resent = new Set(batches.flatMap((b) => (b.resubmitOf === null ? [] : [b.resubmitOf])));
  return batches.filter((b) => !resent.has(b.index));
}

/** Items, and their outcome: accepted only when Meta finished the batch without rejecting the item. */
export function computeCounts(
  batches: readonly ManifestBatch[],
  rowsRejected: number,
): Omit<ManifestCounts, 'calls'> {
  let items = 0;
  let accepted = 0;
  let rejected = 0;
  for (const b of effectiveBatches(batches)) {
    items += b.itemCount;
    if (b.status === 'finished') {
      rejected += b.rejected.length;
      accepted += b.itemCount - b.rejected.length;
    } else if (b.status === 'error') {
      rejected += b.rejected.length;
    }
  }
  return { items, accepted, rejected, unknown: items - accepted - rejected, rowsRejected };
}

export function isFinal(state: ManifestState): boolean {
  return state === 'finished' || state === 'archived' || state === 'abandoned';
}
