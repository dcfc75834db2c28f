import { compareStamps, type ProductStateEntry, type SourceStamp } from './product-state.ts';

/**
 * What to do with a row given what was last sent for its id. Pure, so the rules read in one place:
 * older than what was sent → skip (never go backwards); identical content → skip, but remember the newer
 * stamp, or a file between the two could later pass as "newer" and regress the catalog.
 */
export type RowVerdict = { kind: 'send' } | { kind: 'older' } | { kind: 'unchanged'; bumpStamp: boolean };

export function judgeRow(
  candidate: { hash: string; stamp: SourceStamp },
  last: ProductStateEntry | undefined,
): RowVerdict {
  if (!last) return { kind: 'send' };
  const order = compareStamps(candidate.stamp, last);
  if (order < 0) return { kind: 'older' };
  if (candidate.hash === last.h) return { kind: 'unchanged', bumpStamp: order > 0 };
  return { kind: 'send' };
}

/**
 * A change to one product's entry. `sent`: these contents went to Meta. `bump`: the same contents came
 * again from a newer file; only the stamp moves, and only while the stored contents are still those.
 */
export type StateUpdate =
  | { kind: 'sent'; entry: ProductStateEntry }
  | { kind: 'bump'; entry: ProductStateEntry }
  /**
   * Meta did not take what this manifest sent (rejected, or its batch ended in `error`): forget the content
   * hash so the same row, sent again, is retried rather than skipped as unchanged. The stamp stays, so an
   * older file still cannot win. Only while the entry still belongs to that manifest.
   */
  | { kind: 'forget'; manifestKey: string };

/** The entry to store, or undefined to keep the stored one (a newer stamp always stays). */
export function mergeEntry(
  existing: ProductStateEntry | undefined,
  update: StateUpdate,
): ProductStateEntry | undefined {
  if (update.kind === 'forget') {
    if (!existing || existing.m !== update.manifestKey || existing.h === '') return undefined;
    return { ...existing, h: '' };
  }
  const next = update.entry;
  if (update.kind === 'bump') {
    if (!existing || existing.h !== next.h || compareStamps(next, existing) <= 0) return undefined;
    return { ...existing, t: next.t, s: next.s, q: next.q };
  }
  if (existing && compareStamps(next, existing) < 0) return undefined;
  return next;
}
