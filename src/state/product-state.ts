import { createHash, hash } from 'node:crypto';

/**
 * Per-product memory of what was last sent to Meta: the content hash (to skip identical rows) and the
 * source time (to never let an older file overwrite a newer one). Stored sharded in the synced bucket,
 * s3://<synced>/<syncedPrefix>state/<shard>.json, one JSON object per shard keyed by retailer id, and
 * updated with conditional writes (If-Match / If-None-Match) so two workers cannot lose each other's update.
 * This file is the format; the store that reads and writes it lives in the worker.
 */

export const SHARD_COUNT = 256;

export interface ProductStateEntry {
  /**
   * sha256 (hex, first 32 chars) of the canonical JSON of the item data that was sent; '' while Meta has
   * not accepted it (rejected, or fate unknown), so the same row sent again is not skipped as unchanged.
   */
  h: string;
  /** Source time (ms since epoch) of the row that was sent: the S3 event time of its file. */
  t: number;
  /** Tie-break for the same source time: the file key and its S3 sequencer (or ETag). */
  s: string;
  q: string | null;
  /** The row's version column value (VERSION_COLUMN), when one is configured; absent in older state. */
  v?: number | null;
  /** ETag of the file version the row came from (absent in older state). */
  e?: string | null;
  /** Manifest key and batch index of the send, so `status --product` can find the outcome. */
  m: string;
  b: number;
  /** When it was decided and about to be sent (ms since epoch). */
  at: number;
  /**
   * True from the moment the send is decided until its batch has a final status at Meta. While it is
   * open, no other content for this product is sent: Meta documents no order between batches.
   */
  open?: boolean;
  /**
   * Until when (ms) an earlier copy of this product's data may still be applied by Meta: a batch that
   * may have been accepted without its handle being recorded. Different content waits until then.
   */
  u?: number;
}

export interface ProductStateShard {
  v: 1;
  products: Record<string, ProductStateEntry>;
  /** Highest lease fencing token that wrote sends into this shard; a lower token may not write. */
  fence?: number;
}

export function shardOf(id: string): string {
  const n = createHash('sha256').update(id).digest().readUInt16BE(0) % SHARD_COUNT;
  return n.toString(16).padStart(2, '0');
}

export function shardKey(syncedPrefix: string, shard: string): string {
  return `${syncedPrefix}state/${shard}.json`;
}

export function emptyShard(): ProductStateShard {
  return { v: 1, products: {} };
}

/** Stable hash of an item: key order does not matter, so the same row always hashes the same. */
export function contentHash(data: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  // One-shot crypto.hash: same digest as createHash().update().digest(), about twice as fast per row.
  return hash('sha256', canonical).slice(0, 32);
}

/** Where a row stands in time: its version (if any), its file's creation time, key and sequencer. */
export interface SourceStamp {
  /** Row version (VERSION_COLUMN), or null/absent when none is configured. */
  v?: number | null;
  /** Creation time of the file (ms): S3 event time, or LastModified for a straggler. */
  t: number;
  /** File key. */
  s: string;
  /** S3 sequencer (orders versions of one key), or the ETag when the event carried none. */
  q: string | null;
  /** The object version's ETag (absent in state written before it was recorded). */
  e?: string | null;
}

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/**
 * The ordering rule, one sentence: a row is newer when its version column is higher (when one is
 * configured); else when its file was created in a later whole second; in the same second, files of
 * different keys are ordered by key in numeric-aware order (export-10 after export-9), and versions of one
 * key by exact time, then S3 sequencer.
 *
 * Whole seconds, because a straggler's only time is LastModified (seconds), while events carry
 * milliseconds: comparing the two at different resolutions let an older file win. The rule is a
 * lexicographic order over one tuple, so it is total and transitive, and identical on every worker.
 * Negative when a is older than b, 0 when the same source, positive when newer.
 */
export function compareStamps(a: SourceStamp, b: SourceStamp): number {
  const va = a.v ?? null;
  const vb = b.v ?? null;
  if (va !== vb) {
    if (va === null) return -1;
    if (vb === null) return 1;
    return va < vb ? -1 : 1;
  }
  const sa = Math.floor(a.t / 1000);
  const sb = Math.floor(b.t / 1000);
  if (sa !== sb) return sa - sb;
  if (a.s !== b.s) {
    const byKey = naturalOrder.compare(a.s, b.s);
    if (byKey !== 0) return byKey;
    return a.s < b.s ? -1 : 1;
  }
  // One object version is one source, whether its time came from its event (milliseconds) or, for a
  // straggler, from LastModified (whole seconds): without this, a file's straggler lost to its own event.
  if (a.e && b.e && a.e === b.e) return 0;
  if (a.t !== b.t) return a.t - b.t;
  if (a.q === b.q) return 0;
  if (a.q === null) return -1;
  if (b.q === null) return 1;
  // S3 sequencers of one key: right-pad the shorter with 0, then compare as strings.
  const len = Math.max(a.q.length, b.q.length);
  const qa = a.q.padEnd(len, '0');
  const qb = b.q.padEnd(len, '0');
  return qa < qb ? -1 : qa > qb ? 1 : 0;
}

/** True when two different files are ordered only by their keys (same version, same second): worth a log line. */
export function isKeyTie(a: SourceStamp, b: SourceStamp): boolean {
  return (a.v ?? null) === (b.v ?? null) && a.s !== b.s && Math.floor(a.t / 1000) === Math.floor(b.t / 1000);
}
