import type { ProductStateEntry } from '../contract/product-state.ts';
import type { ChangeFacts, Price } from './guardrail-types.ts';

/**
 * The facts the guardrail rules need about one item, and where the "old" side comes from.
 *
 * What was last sent is kept in the product state entry itself, as two optional fields
 * (`lastPrice`: the price string sent, `lastAvailability`: the availability sent), written with every send
 * decision (flush and drift repair). The alternative, reading the last sent item back from the batch
 * payload the entry names, costs one GET of a whole batch (up to 5,000 items) per distinct earlier batch
 * on every flush and fails once payloads expire; measured in bench/last-values.ts and
 * docs/guardrails-and-drift.md. Entries written before (or by a resend of items of unknown fate, which
 * writes a fresh entry) have neither: their old values are unknown and they count for no price or
 * stock rule, never against one.
 */

/** The two fields kept in a state entry for the guardrails. */
export type LastValues = Pick<ProductStateEntry, 'lastPrice' | 'lastAvailability'>;

/** The two values of an item the rules judge: a CatalogItem, or a window's index entry of one. */
export interface JudgedValues {
  id: string;
  price?: unknown;
  availability?: unknown;
}

/** `entry` with the last values of `item` (what is about to be sent). */
export function withLastValues(entry: ProductStateEntry, item: JudgedValues): ProductStateEntry {
  const values: LastValues = {};
  if (typeof item.price === 'string') values.lastPrice = item.price;
  if (typeof item.availability === 'string') values.lastAvailability = item.availability;
  return { ...entry, ...values };
}

export function lastValuesOf(entry: ProductStateEntry | undefined): LastValues {
  if (!entry) return {};
  return {
    ...(typeof entry.lastPrice === 'string' ? { lastPrice: entry.lastPrice } : {}),
    ...(typeof entry.lastAvailability === 'string' ? { lastAvailability: entry.lastAvailability } : {}),
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
    oldPrice: parsePrice(last.lastPrice),
    newPrice: parsePrice(item.price),
    oldAvailability: last.lastAvailability ?? null,
    newAvailability: typeof item.availability === 'string' ? item.availability : null,
  };
}
