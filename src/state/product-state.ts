import { hash } from 'node:crypto';
import type { SourceStamp } from '../contract/product-state.ts';

/**
 * The product state's rules: the content hash (to skip identical rows) and the ordering of sources (to
 * never let an older file overwrite a newer one). The stored record is src/contract/product-state.ts; the
 * stores that read and write it are product-state-store.ts (S3 shards) and dynamo-state-store.ts.
 */

/** Stable hash of an item: key order does not matter, so the same row always hashes the same. */
export function contentHash(data: Record<string, unknown>): string {
  const keys = sortedKeys(data);
  const pairs = new Array<[string, unknown]>(keys.length);
  for (let i = 0; i < keys.length; i++) pairs[i] = [keys[i]!, data[keys[i]!]];
  // The stored hashes are of exactly this text (sorted [key, value] pairs): changing it would make every
  // product look changed once. One-shot crypto.hash: same digest as createHash().update().digest().
  return hash('sha256', JSON.stringify(pairs)).slice(0, 32);
}

/**
 * The keys of `data` in sorted order. The rows of one file have the same keys in the same order, so the
 * last order is kept and reused when the next item's keys are the same: a file's rows then skip the sort.
 */
let lastKeys: string[] = [];
let lastSorted: string[] = [];
function sortedKeys(data: Record<string, unknown>): string[] {
  const keys = Object.keys(data);
  if (keys.length === lastKeys.length && keys.every((k, i) => k === lastKeys[i])) return lastSorted;
  lastKeys = keys;
  lastSorted = [...keys].sort();
  return lastSorted;
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
  const va = a.version ?? null;
  const vb = b.version ?? null;
  if (va !== vb) {
    if (va === null) return -1;
    if (vb === null) return 1;
    return va < vb ? -1 : 1;
  }
  const sa = Math.floor(a.sourceTime / 1000);
  const sb = Math.floor(b.sourceTime / 1000);
  if (sa !== sb) return sa - sb;
  if (a.sourceKey !== b.sourceKey) {
    const byKey = naturalOrder.compare(a.sourceKey, b.sourceKey);
    if (byKey !== 0) return byKey;
    return a.sourceKey < b.sourceKey ? -1 : 1;
  }
  // One object version is one source, whether its time came from its event (milliseconds) or, for a
  // straggler, from LastModified (whole seconds): without this, a file's straggler lost to its own event.
  if (a.etag && b.etag && a.etag === b.etag) return 0;
  if (a.sourceTime !== b.sourceTime) return a.sourceTime - b.sourceTime;
  if (a.sequencer === b.sequencer) return 0;
  if (a.sequencer === null) return -1;
  if (b.sequencer === null) return 1;
  // S3 sequencers of one key: right-pad the shorter with 0, then compare as strings.
  const len = Math.max(a.sequencer.length, b.sequencer.length);
  const qa = a.sequencer.padEnd(len, '0');
  const qb = b.sequencer.padEnd(len, '0');
  return qa < qb ? -1 : qa > qb ? 1 : 0;
}

/** True when two different files are ordered only by their keys (same version, same second): worth a log line. */
export function isKeyTie(a: SourceStamp, b: SourceStamp): boolean {
  return (
    (a.version ?? null) === (b.version ?? null) &&
    a.sourceKey !== b.sourceKey &&
    Math.floor(a.sourceTime / 1000) === Math.floor(b.sourceTime / 1000)
  );
}
