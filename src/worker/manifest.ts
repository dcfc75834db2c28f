import { randomBytes } from 'node:crypto';
import type { BatchFinal } from '../meta/types.ts';
import { windowFolder } from '../shared/hours.ts';
import type { RowCounts, WindowSource } from './window-buffer.ts';

/**
 * The flush manifest (schemas/manifest.schema.json) as TypeScript, and its pure transitions. The schema
 * is the contract with the DAG; these types follow it field for field.
 */

export type ManifestState =
  | 'pending'
  | 'submitted'
  | 'finished'
  | 'archived'
  | 'abandoned'
  /** A guardrail stopped the window before anything was sent: waits for `release` or `discard`. */
  | 'held'
  /** An operator dropped a held window (`discard`): final, nothing of it was sent. */
  | 'discarded';

/** One guardrail rule a held window tripped, with the evidence (src/guardrails/rules.ts). */
export interface HeldRule {
  rule: string;
  message: string;
  value: number;
  threshold: number;
  evidence: { count: number; of: number; examples: { id: string; old: string | null; new: string | null }[] };
}

/** Why and when a window was held; set with state `held`, kept after a release or a discard. */
export interface HeldInfo {
  at: string;
  rules: HeldRule[];
  /** The known catalog size the percentage rules were measured against. */
  knownProducts: number;
}

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

/** An item not sent again because a newer source for its product was sent: final, nothing lost. */
export interface SupersededItem {
  id: string;
  /** Manifest key of the newer send, as the product state named it. */
  by: string;
}

interface BatchCommon {
  index: number;
  itemCount: number;
  payloadKey: string;
  payloadBytes: number | null;
  attempts: number;
  /**
   * Set on a batch that sends again the items of unknown fate of batch `resubmitOf` (Meta finished it
   * with status `error`, or it was never accepted). Only items the send gate let through are in it.
   */
  resubmitOf: number | null;
  /** Items of the batch being resent that the gate held back because newer data was sent since. */
  superseded?: SupersededItem[];
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
  /** Not resent because a newer source of the same product was sent (absent in older manifests). */
  superseded?: number;
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
  /** While the flush waits before its next items_batch call (throttling, call budget): why and until when. */
  waiting?: { reason: string; since: string; until: string } | null;
  /** Set when a guardrail held the window (state `held`). */
  held?: HeldInfo;
  /** Who released a held window (`catalog-sync release`), when it was asked and when the worker took it. */
  released?: { by: string; requestedAt: string; at: string };
  /** Who discarded a held window (`catalog-sync discard`), why and when. */
  discarded?: { by: string; reason: string; at: string };
  /** A drift repair (src/drift/): the drift report whose stale and missing items this manifest sends again. */
  driftReport?: string;
}

/** The exact items of one batch, as stored at synced/batches/<manifestId>/<index>.json. */
export interface BatchPayload {
  manifestId: string;
  batchIndex: number;
  requests: { method: 'UPDATE'; data: Record<string, unknown> }[];
  /**
   * Where each item came from; `v` is the row's version column value (absent in older payloads). `t` and
   * `q` are the exact source time and sequencer when the manifest's sources cannot say them (a drift repair
   * sends items of many files and uploads); absent otherwise.
   */
  origins: {
    id: string;
    key: string;
    line: number;
    v?: number | null;
    t?: number;
    q?: string | null;
    e?: string | null;
  }[];
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
