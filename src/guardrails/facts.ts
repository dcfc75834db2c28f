import type { ProductStateEntry } from '../state/product-state.ts';
import type { ChangeFacts, Price } from './rules.ts';

/**
 * The facts the guardrail rules need about one item, and where the "old" side comes from.
 *
 * What was last sent is kept in the product state entry itself, as two compact optional fields next to
 * the format's own (`p`: the price string sent, `a`: the availability sent), written with every send
 * decision (flush and drift repair). The alternative, reading the last sent item back from the batch
 * payload the entry names, costs one GET of a whole batch (up to 5,000 items) per distinct earlier batch
 * on every flush and fails once payloads expire; measured in bench/last-values.ts and
 * docs/guardrails-and-drift.md. Entries written before (or by a resend of items of unknown fate, which
 * writes a fresh entry) have no `p`/`a`: their old values are unknown and they count for no price or
 * stock rule, never against one.
 */

/** The two fields kept in a state entry for the guardrails. */
export interface LastValues {
  /** Price sent, e.g. "9.99 USD". */
  p?: string;
  /** Availability sent, e.g. "in stock". */
  a?: string;
}

/** The two values of an item the rules judge: a CatalogItem, or a window's index entry of one. */
export interface JudgedValues {
  id: string;
  price?: unknown;
  availability?: unknown;
}

/** `entry` with the last values of `item` (what is about to be sent). */
export function withLastValues(entry: ProductStateEntry, item: JudgedValues): ProductStateEntry {
  const values: LastValues = {};
  if (typeof item.price === 'string') values.p = item.price;
  if (typeof item.availability === 'string') values.a = item.availability;
  const out: ProductStateEntry & LastValues = { ...entry, ...values };
  return out;
}

export function lastValuesOf(entry: ProductStateEntry | undefined): LastValues {
  if (!entry) return {};
  const e = entry as ProductStateEntry & LastValues;
  return {
    ...(typeof e.p === 'string' ? { p: e.p } : {}),
    ...(typeof e.a === 'string' ? { a: e.a } : {}),
  };
}

/** "9.99 USD" (the form the worker sends) → {9.99, USD}; anything else → null. */
export function parsePrice(value: unknown): Price | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?) ([A-Z]{3})$/.exec(value.trim());
  return m ? { amount: Number(m[1]), currency: m[2]! } : null;
}

export function changeFacts(
  id: string,
  item: JudgedValues,
  entry: ProductStateEntry | undefined,
): ChangeFacts {
  const last = lastValuesOf(entry);
  return {
    id,
    isNew: entry === undefined,
    oldPrice: parsePrice(last.p),
    newPrice: parsePrice(item.price),
    oldAvailability: last.a ?? null,
    newAvailability: typeof item.availability === 'string' ? item.availability : null,
  };
}
