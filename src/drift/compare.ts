import { minorDigits } from '../ingest/price.ts';

/**
 * How an item we sent compares with the item Meta holds. Pure.
 *
 * Meta reads items back under other names than items_batch writes them (the Product Item node: `name`
 * for title, `url` for link, `image_url` for image_link; https://developers.facebook.com/docs/marketing-api/reference/product-item/),
 * and its `price` is a display string with `currency` beside it. Both sides are normalised before they are
 * compared: text trimmed, availability and condition in lower case, prices as an amount and a currency
 * (the display string parsed with the currency's own minor digits, so "$1,000.00", "1.000,00 €" and
 * "1000.00 USD" all read as 1000).
 */

/** items_batch field → the Product Item field that reads it back (same name when absent). */
export const READ_NAME: Readonly<Record<string, string>> = {
  title: 'name',
  link: 'url',
  image_link: 'image_url',
};

const PRICE_FIELDS = new Set(['price', 'sale_price']);
const LOWER_CASE = new Set(['availability', 'condition']);

export function readNameOf(field: string): string {
  return READ_NAME[field] ?? field;
}

/** The fields to ask Meta for, for these items_batch fields. */
export function readFieldsFor(fields: readonly string[]): string[] {
  const out = new Set(['retailer_id']);
  for (const f of fields) {
    out.add(readNameOf(f));
    if (PRICE_FIELDS.has(f)) out.add('currency');
  }
  return [...out];
}

export interface FieldDiff {
  /** items_batch name. */
  field: string;
  /** What we sent (as sent). */
  sent: string | null;
  /** What Meta holds (as Meta answered). */
  meta: string | null;
}

/** The fields (of `fields`) whose values differ; fields we never sent are not compared. */
export function compareItem(
  sent: Record<string, unknown>,
  meta: Record<string, unknown>,
  fields: readonly string[],
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const field of fields) {
    const ours = sent[field];
    if (ours === undefined || ours === null || ours === '') continue;
    const theirs = meta[readNameOf(field)];
    if (!sameValue(field, ours, theirs, meta)) {
      diffs.push({ field, sent: text(ours), meta: text(theirs) });
    }
  }
  return diffs;
}

function sameValue(field: string, ours: unknown, theirs: unknown, meta: Record<string, unknown>): boolean {
  if (theirs === undefined || theirs === null) return false;
  if (PRICE_FIELDS.has(field)) {
    const a = parseSentPrice(ours);
    const b = parseMetaPrice(theirs, meta.currency, a?.currency);
    if (!a || !b) return text(ours) === text(theirs);
    return a.currency === b.currency && Math.abs(a.amount - b.amount) < 1e-9;
  }
  const x = text(ours)!.trim();
  const y = text(theirs)!.trim();
  return LOWER_CASE.has(field) ? x.toLowerCase() === y.toLowerCase() : x === y;
}

function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface Amount {
  amount: number;
  currency: string;
}

/** "9.99 USD", the form the worker sends. */
export function parseSentPrice(v: unknown): Amount | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?) ([A-Z]{3})$/.exec(v.trim());
  return m ? { amount: Number(m[1]), currency: m[2]! } : null;
}

/**
 * A price as Meta displays it ("$9.99", "9,99 €", "1,000 JPY", "9.99 USD"), with its `currency` field.
 * A code inside the string wins over the field; without either, `fallback` (the currency we sent) is
 * assumed. The last separator is the decimal one when exactly the currency's minor digits follow it.
 */
export function parseMetaPrice(v: unknown, currencyField: unknown, fallback?: string): Amount | null {
  if (typeof v === 'number' && Number.isFinite(v)) {
    const currency = typeof currencyField === 'string' ? currencyField.toUpperCase() : fallback;
    return currency ? { amount: v, currency } : null;
  }
  if (typeof v !== 'string') return null;
  const code = /\b([A-Z]{3})\b/.exec(v)?.[1];
  const currency = code ?? (typeof currencyField === 'string' ? currencyField.toUpperCase() : fallback);
  if (!currency || !/^[A-Z]{3}$/.test(currency)) return null;
  const digits = v.replace(/[^\d.,]/g, '');
  if (!/\d/.test(digits)) return null;
  let minor: number;
  try {
    minor = minorDigits(currency);
  } catch {
    minor = 2;
  }
  const last = Math.max(digits.lastIndexOf('.'), digits.lastIndexOf(','));
  let whole = digits;
  let fraction = '';
  if (last >= 0 && minor > 0 && digits.length - last - 1 === minor) {
    whole = digits.slice(0, last);
    fraction = digits.slice(last + 1);
  }
  whole = whole.replace(/[.,]/g, '');
  const amount = Number(`${whole || '0'}.${fraction || '0'}`);
  return Number.isFinite(amount) ? { amount, currency } : null;
}
