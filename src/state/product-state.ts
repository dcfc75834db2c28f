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
  /** sha256 (hex, first 32 chars) of the canonical JSON of the item data that was sent. */
  h: string;
  /** Source time (ms since epoch) of the row that was sent: the S3 event time of its file. */
  t: number;
  /** Tie-break for the same source time: the file key and its S3 sequencer (or ETag). */
  s: string;
  q: string | null;
  /** Manifest key and batch index of the send, so `status --product` can find the outcome. */
  m: string;
  b: number;
  /** When it was sent (ms since epoch). */
  at: number;
}

export interface ProductStateShard {
  v: 1;
  products: Record<string, ProductStateEntry>;
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

/** Where a row stands in time. Compared by time, then file key, then sequencer (S3's per-key order). */
export interface SourceStamp {
  t: number;
  s: string;
  q: string | null;
}

/** Negative when a is older than b, 0 when the same source, positive when newer. */
export function compareStamps(a: SourceStamp, b: SourceStamp): number {
  if (a.t !== b.t) return a.t - b.t;
  if (a.s === b.s && a.q && b.q) {
    // S3 sequencers of one key: right-pad the shorter with 0, then compare as strings.
    const len = Math.max(a.q.length, b.q.length);
    const qa = a.q.padEnd(len, '0');
    const qb = b.q.padEnd(len, '0');
    return qa < qb ? -1 : qa > qb ? 1 : 0;
  }
  return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
}
