/**
 * Manifests as the oracle reads them (schemas/manifest.schema.json, both before and after the send gate:
 * `superseded` items and partial resends are understood). Read loosely, so the oracle does not break when
 * the worker's TypeScript types move.
 */

export interface MSource {
  bucket: string;
  key: string;
  etag: string;
  eventTime: string;
  rows: {
    total: number;
    valid: number;
    rejected: number;
    unchanged: number;
    older: number;
    superseded: number;
  };
}
export interface MBatch {
  index: number;
  itemCount: number;
  payloadKey: string;
  handle: string | null;
  status: 'unsent' | 'running' | 'finished' | 'error';
  resubmitOf?: number | null;
  rejected?: { id: string; reason: string }[];
  superseded?: { id: string; by: string }[];
}
export interface MManifest {
  manifestId: string;
  window: string;
  /** `held` and `discarded` come with the guardrails (a held window waits for an operator). */
  state: 'pending' | 'submitted' | 'finished' | 'archived' | 'abandoned' | 'held' | 'discarded';
  createdAt: string;
  updatedAt: string;
  sources: MSource[];
  batches: MBatch[];
  counts: { items: number; accepted: number; rejected: number; unknown: number; superseded?: number };
}
/** A batch's payload object: the items_batch requests and the file line each item came from. */
export interface Payload {
  requests: { data: Record<string, unknown> }[];
  origins: { id: string; key: string; line: number }[];
}

/** A file as the oracle names it: landing key and unquoted ETag. */
export interface FileRef {
  key: string;
  etag: string;
}

export const DELIVERED: ReadonlySet<MManifest['state']> = new Set(['finished', 'archived']);
/** Not final: the DAG waits for these. */
export const OPEN: ReadonlySet<MManifest['state']> = new Set(['pending', 'submitted', 'held']);

/** A first send, not a resend of an earlier batch of the same manifest. */
export const isFirstSend = (b: MBatch): boolean => b.resubmitOf === null || b.resubmitOf === undefined;

/** Meta's answer on the batch is final, so the items it names as rejected stay rejected. */
export const isAnswered = (b: MBatch): boolean => b.status === 'finished' || b.status === 'error';

export const hasReason = (r: { reason: string }): boolean => Boolean(r.reason) && r.reason.trim() !== '';

export const covers = (m: MManifest, bucket: string, f: FileRef): boolean =>
  m.sources.some((s) => s.bucket === bucket && s.key === f.key && s.etag.replace(/"/g, '') === f.etag);
