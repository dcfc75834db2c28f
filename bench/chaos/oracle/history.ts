import type { SimHistoryEntry } from '../../../tools/simulator/index.ts';
import { valueOf, type Ledger } from '../ledger.ts';

/**
 * (i) Nothing went backwards: in the simulator's history every applied value of a product is ≥ every
 * value applied to it before (re-applying the same value is allowed), every value is one the ledger
 * uploaded for that product, and nothing was deleted.
 */
export function historyProblems(history: readonly SimHistoryEntry[], ledger: Ledger): string[] {
  const out: string[] = [];
  const best = new Map<string, { value: number; entry: SimHistoryEntry }>();
  const known = new Map<string, Set<number>>();
  for (const u of ledger.uploads) {
    for (const r of u.rows) {
      let s = known.get(r.id);
      if (!s) known.set(r.id, (s = new Set()));
      s.add(r.value);
    }
  }
  const where = (v: number) => ledger.originOf(v)?.key ?? 'no upload';
  for (const e of [...history].sort((a, b) => a.seq - b.seq)) {
    if (e.method === 'DELETE') {
      out.push(`${e.id} was deleted (batch ${e.handle}); nothing deletes in this run`);
      continue;
    }
    const v = valueOf(e.fields.price);
    if (v === null) {
      out.push(`${e.id}: applied price ${JSON.stringify(e.fields.price)} is not a ledger value`);
      continue;
    }
    if (!known.get(e.id)?.has(v)) {
      out.push(`${e.id}: applied value ${v} (${where(v)}) was never uploaded for this product`);
    }
    const prev = best.get(e.id);
    if (prev && v < prev.value) {
      out.push(
        `${e.id} went backwards: ${v} (${where(v)}, batch ${e.handle}, ${e.batchStatus}) applied at ${e.time} ` +
          `after ${prev.value} (${where(prev.value)}, batch ${prev.entry.handle}, ${prev.entry.batchStatus}) at ${prev.entry.time}`,
      );
    }
    if (!prev || v > prev.value) best.set(e.id, { value: v, entry: e });
  }
  return out;
}
