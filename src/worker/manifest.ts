import { randomBytes } from 'node:crypto';
import type { BatchFinal } from '../meta/types.ts';
import { windowFolder } from '../shared/hours.ts';
import type {
  FinalBatch,
  Manifest,
  ManifestBatch,
  ManifestCounts,
  ManifestSource,
  ManifestState,
  RunningBatch,
} from '../contract/manifest.ts';
import type { WindowSource } from './window-buffer.ts';

/** The manifest's pure transitions; its types are in src/contract/manifest.ts, its keys in src/contract/layout.ts. */

export function newManifestId(window: string, now: number): string {
  return `${windowFolder(window)}-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
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

/** Indexes of batches whose items were sent again by a later batch. */
function resentIndexes(batches: readonly ManifestBatch[]): Set<number> {
  return new Set(batches.flatMap((b) => (b.resubmitOf === null ? [] : [b.resubmitOf])));
}

/** Batches whose outcome is the last word for their items: not sent again by a later batch. */
export function leafBatches(batches: readonly ManifestBatch[]): ManifestBatch[] {
  const resent = resentIndexes(batches);
  return batches.filter((b) => !resent.has(b.index));
}

/** Items of a final batch whose fate is unknown: an `error` batch's items that Meta did not list as rejected. */
export function unknownInBatch(b: ManifestBatch): number {
  if (b.status === 'unsent' || b.status === 'running') return b.itemCount;
  return b.status === 'error' ? b.itemCount - b.rejected.length : 0;
}

/**
 * Leaf batches that need another send: never accepted (`unsent`, in a manifest past `pending`), or
 * ended in `error` with items of unknown fate.
 */
export function batchesToResend(m: Pick<Manifest, 'batches'>): ManifestBatch[] {
  return leafBatches(m.batches).filter(
    (b) => b.status === 'unsent' || (b.status === 'error' && unknownInBatch(b) > 0),
  );
}

/** How many times the items of this batch have been sent before it (0 for a first send). */
export function resendDepth(batches: readonly ManifestBatch[], index: number): number {
  let depth = 0;
  for (let b = batches[index]; b && b.resubmitOf !== null; b = batches[b.resubmitOf]) depth++;
  return depth;
}

/**
 * Items and their outcome. Every item of the flush belongs to a first-send batch; a resend batch carries
 * the items of its parent that were neither rejected nor superseded. So: accepted = the items of leaf
 * batches Meta finished, less the ones it rejected; rejected and superseded are counted where recorded;
 * what is left is unknown.
 */
export function computeCounts(
  batches: readonly ManifestBatch[],
  rowsRejected: number,
): Omit<ManifestCounts, 'calls'> {
  let items = 0;
  let accepted = 0;
  let rejected = 0;
  let superseded = 0;
  const resent = resentIndexes(batches);
  for (const b of batches) {
    if (b.resubmitOf === null) items += b.itemCount;
    superseded += b.superseded?.length ?? 0;
    if (b.status === 'finished' || b.status === 'error') rejected += b.rejected.length;
    if (b.status === 'finished' && !resent.has(b.index)) accepted += b.itemCount - b.rejected.length;
  }
  const unknown = Math.max(0, items - accepted - rejected - superseded);
  return { items, accepted, rejected, superseded, unknown, rowsRejected };
}

export function isFinal(state: ManifestState): boolean {
  return state === 'finished' || state === 'archived' || state === 'abandoned' || state === 'discarded';
}
