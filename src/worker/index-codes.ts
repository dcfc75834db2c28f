/**
 * Small encodings for the columns of a product index (product-index.ts): values that take a handful of
 * forms as a byte, and a price string as a number, so that a million products do not keep a million
 * strings. Every encoding gives back exactly the string it was given.
 */

/** Code 0: no value. OTHER: a value the book had no room for; the index keeps that string aside. */
export const NO_VALUE = 0;
export const OTHER = 255;

/** Strings of a field with few distinct values (availability, currency), a byte each, process-wide. */
export class Codebook {
  readonly #codes = new Map<string, number>();
  readonly #names: string[] = [''];

  code(v: string | null): number {
    if (v === null) return NO_VALUE;
    const known = this.#codes.get(v);
    if (known !== undefined) return known;
    if (this.#names.length >= OTHER) return OTHER;
    this.#codes.set(v, this.#names.length);
    this.#names.push(v);
    return this.#names.length - 1;
  }

  /** The string of a code other than OTHER (the caller keeps those). */
  name(code: number): string | null {
    return code === NO_VALUE ? null : this.#names[code]!;
  }
}

/** A price as the worker sends it ("80.19 USD"): its digits as one number, the decimals, the currency. */
export interface PackedPrice {
  digits: number;
  decimals: number;
  currency: string;
}

const PRICE = /^(0|[1-9]\d*)(?:\.(\d{1,9}))? ([A-Z]{3})$/;

/** The packed form of `price`, or null when it has another form or too many digits to be exact. */
export function packPrice(price: string): PackedPrice | null {
  const m = PRICE.exec(price);
  if (!m) return null;
  const fraction = m[2] ?? '';
  const all = m[1]! + fraction;
  if (all.length > 15) return null;
  return { digits: Number(all), decimals: m[2] === undefined ? -1 : fraction.length, currency: m[3]! };
}

/** The string packPrice was given. Decimals -1: there was no decimal point. */
export function unpackPrice(p: PackedPrice): string {
  if (p.decimals < 0) return `${p.digits} ${p.currency}`;
  const s = String(p.digits).padStart(p.decimals + 1, '0');
  return `${s.slice(0, s.length - p.decimals)}.${s.slice(s.length - p.decimals)} ${p.currency}`;
}
