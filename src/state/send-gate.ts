import type { ProductStateEntry, SourceStamp } from '../contract/product-state.ts';
import { compareStamps } from './product-state.ts';

/**
 * The send gate: the one decision every path that sends items to Meta goes through (first send, resend
 * of items whose fate is unknown, recovery after a crash, a DAG re-check). Pure, so the rules read in one
 * place and are unit-tested; the caller does the I/O (state read under the catalog lease, the fate of an
 * earlier open send) and acts on the verdict.
 *
 * The rules, for one product:
 * 1. A source older than the newest one known is never sent (`older`), whatever the path.
 * 2. While an earlier send of the product has no final status at Meta, nothing else is sent for it
 *    (`wait`): Meta documents no order between batches, so two open batches could apply in either order.
 *    The one exception is the same source again: either copy applies the same data.
 * 3. A send that may have reached Meta without its handle being recorded is treated as open until it
 *    settles (a configured time); different content waits for that.
 * 4. Content identical to what Meta accepted last is not sent again (`unchanged`); a newer source with the
 *    same content moves the stamp forward, so a file between the two cannot later pass as newer.
 */

/** Where an earlier send of a product stands, as the caller found out (manifest, then Meta). */
export type OpenSendFate =
  /** Its batch has Meta's final status. */
  | { kind: 'final' }
  /** Accepted by items_batch, Meta still processing. */
  | { kind: 'running'; handle: string }
  /** Decided, but no handle was recorded: it may or may not have reached Meta; assume so until then. */
  | { kind: 'unrecorded'; settlesAt: number };

export type GateVerdict =
  | { kind: 'send'; settlesAt: number | null }
  | { kind: 'older' }
  | { kind: 'unchanged'; bumpStamp: boolean }
  | { kind: 'wait'; until: number | null; reason: string };

export interface GateCandidate {
  hash: string;
  stamp: SourceStamp;
}

export interface GateContext {
  /** What the state says was last decided for this product. */
  entry: ProductStateEntry | undefined;
  /** Fate of `entry`'s send, needed when the entry is open. */
  fate?: OpenSendFate | undefined;
  now: number;
  /** A resend of items whose fate is unknown: their content was never confirmed, so never "unchanged". */
  resend?: boolean;
}

export function judge(candidate: GateCandidate, ctx: GateContext): GateVerdict {
  const { entry, now } = ctx;
  if (!entry) return { kind: 'send', settlesAt: null };
  const order = compareStamps(candidate.stamp, entry);
  if (order < 0) return { kind: 'older' };

  // Content Meta is known to hold for this product (empty while unconfirmed).
  let confirmed = entry.contentHash;
  // A send of this same source that might still apply: the new send must keep the settle time.
  const settlesAt: number | null =
    order === 0 && entry.settleUntil !== undefined && entry.settleUntil > now ? entry.settleUntil : null;
  if (entry.open) {
    const fate = ctx.fate;
    if (!fate) return { kind: 'wait', until: null, reason: 'the earlier send has not been looked up' };
    if (fate.kind === 'running')
      return { kind: 'wait', until: null, reason: `batch ${fate.handle} is running` };
    if (fate.kind === 'unrecorded') {
      if (order === 0) return { kind: 'send', settlesAt: Math.max(fate.settlesAt, settlesAt ?? 0) };
      if (now < fate.settlesAt) {
        return { kind: 'wait', until: fate.settlesAt, reason: 'an earlier send has no recorded handle' };
      }
    }
    // Final (or settled) but not yet recorded in the state: what Meta kept is not known here.
    confirmed = '';
  }
  if (
    order > 0 &&
    entry.settleUntil !== undefined &&
    now < entry.settleUntil &&
    candidate.hash !== entry.contentHash
  ) {
    return { kind: 'wait', until: entry.settleUntil, reason: 'an earlier copy may still apply' };
  }
  if (order === 0 && ctx.resend) return { kind: 'send', settlesAt };
  if (confirmed !== '' && candidate.hash === confirmed) return { kind: 'unchanged', bumpStamp: order > 0 };
  return { kind: 'send', settlesAt };
}

/**
 * A change to one product's entry.
 * - `decided`: these contents are about to be sent in batch (m, b); written under the catalog lease
 *   before items_batch is called, open until the batch is final.
 * - `bump`: the same contents came again from a newer file; only the stamp moves.
 * - `settled`: batch (m, b) has a final status; `accepted` says whether Meta took this product's item.
 *   Applies only while the entry still names that batch.
 */
export type StateUpdate =
  | { kind: 'decided'; entry: ProductStateEntry }
  | { kind: 'bump'; entry: ProductStateEntry }
  | { kind: 'settled'; manifestKey: string; batch: number; accepted: boolean };

/** The entry to store, or undefined to keep the stored one (a newer stamp always stays). */
export function mergeEntry(
  existing: ProductStateEntry | undefined,
  update: StateUpdate,
): ProductStateEntry | undefined {
  if (update.kind === 'settled') {
    if (!existing || existing.manifestKey !== update.manifestKey || existing.batchIndex !== update.batch)
      return undefined;
    if (!existing.open && (update.accepted || existing.contentHash === '')) return undefined;
    const next: ProductStateEntry = { ...existing, contentHash: update.accepted ? existing.contentHash : '' };
    delete next.open;
    return next;
  }
  const next = update.entry;
  if (update.kind === 'bump') {
    if (
      !existing ||
      existing.open ||
      existing.contentHash !== next.contentHash ||
      compareStamps(next, existing) <= 0
    ) {
      return undefined;
    }
    return {
      ...existing,
      sourceTime: next.sourceTime,
      sourceKey: next.sourceKey,
      sequencer: next.sequencer,
      version: next.version ?? null,
      etag: next.etag ?? null,
    };
  }
  if (existing && compareStamps(next, existing) < 0) return undefined;
  return next;
}
