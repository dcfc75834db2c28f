/**
 * The flush manifest and the batch payload, as the worker writes them and the DAG and the operator
 * commands read them. schemas/manifest.schema.json is the contract with the DAG (both sides validate
 * against it); these types follow it field for field. Keys: src/contract/layout.ts.
 */

/** What became of a landing file's rows in one window (a manifest source's `rows`). */
export interface RowCounts {
  total: number;
  valid: number;
  rejected: number;
  unchanged: number;
  older: number;
  superseded: number;
}

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

/** The items Meta rejected in a batch: none until it is final. */
export function rejectedIn(batch: ManifestBatch): RejectedItem[] {
  return batch.status === 'finished' || batch.status === 'error' ? batch.rejected : [];
}

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
  /** Where each item came from: file key and line, and the row's version when one is configured. */
  origins: BatchOrigin[];
}

export interface BatchOrigin {
  id: string;
  /** Landing key of the file the row came from (a drift repair: the key of the item's last send). */
  key: string;
  line: number;
  /** The row's version column value (VERSION_COLUMN); absent when none is configured. */
  version?: number | null;
  /**
   * The exact source stamp, when the manifest's sources cannot say it (a drift repair sends items of many
   * files and uploads); absent otherwise.
   */
  sourceTime?: number;
  sequencer?: string | null;
  etag?: string | null;
}

/**
 * A stored batch payload in today's form. Payloads written before the origins' fields were named carry
 * `v`, `t`, `q` and `e`; they are read into the named fields here, so a held window or a batch of unknown
 * fate from before still resends with the stamp it was sent with.
 */
export function readBatchPayload(stored: unknown, where: string): BatchPayload {
  if (typeof stored !== 'object' || stored === null || !Array.isArray((stored as BatchPayload).requests)) {
    throw new Error(`batch payload ${where} is not a payload (no requests)`);
  }
  const p = stored as Omit<BatchPayload, 'origins'> & { origins?: Record<string, unknown>[] };
  const origins = (p.origins ?? []).map((o) => {
    const { v, t, q, e, ...named } = o;
    return {
      ...named,
      ...(v === undefined ? {} : { version: v }),
      ...(t === undefined ? {} : { sourceTime: t }),
      ...(q === undefined ? {} : { sequencer: q }),
      ...(e === undefined ? {} : { etag: e }),
    } as unknown as BatchOrigin;
  });
  return { ...p, origins };
}
