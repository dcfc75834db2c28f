import { quote } from './text.ts';

/**
 * Prices as Meta's items_batch wants them: "<amount> <ISO 4217 code>", '.' as decimal separator.
 *
 * Accepted: "9.99" (the catalog currency is added), "9.99 EUR", "EUR 9.99", "9.99eur", ".5", "14".
 * Output is canonical, with exactly the currency's minor digits ("9.9" → "9.90 USD", "1000" JPY → "1000 JPY"),
 * so the same price written two ways hashes the same and is not sent twice.
 * Rejected, each with its own reason: negative, zero (almost always a missing price, and a shop cannot sell
 * at 0), anything with a comma ("1,000" may be one thousand or one: ambiguous), currency symbols ("$" is a
 * dozen currencies), more significant decimals than the currency has, unknown currency codes, non-numbers.
 */

export type PriceResult = { ok: true; value: string } | { ok: false; reason: string };

const CODES = new Set(Intl.supportedValuesOf('currency'));
const minorDigitsCache = new Map<string, number>();

/** Decimal digits of the currency's minor unit (USD 2, JPY 0, KWD 3). */
export function minorDigits(currency: string): number {
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

export function isCurrencyCode(code: string): boolean {
  return CODES.has(code);
}

// amount with an optional code before or after it; the parts are checked one by one below for clear reasons
const SHAPE = /^(?:([A-Za-z]{3})\s*)?([^A-Za-z\s]*)(?:\s*([A-Za-z]{3}))?$/;
const AMOUNT = /^(-?)(\d*)(?:\.(\d*))?$/;
const SYMBOL = /\p{Sc}/u;

export function normalisePrice(raw: string, catalogCurrency: string, field = 'price'): PriceResult {
  const shape = SHAPE.exec(raw);
  const amount = shape?.[2] ?? '';
  if (shape === null || amount === '' || (shape[1] !== undefined && shape[3] !== undefined)) {
    return fail(field, raw, SYMBOL.test(raw) ? symbolReason() : 'is not a number');
  }
  const code = (shape[1] ?? shape[3])?.toUpperCase() ?? catalogCurrency;
  if (!CODES.has(code))
    return fail(field, raw, `names ${quote(code)}, which is not an ISO 4217 currency code`);
  if (amount.includes(',')) {
    const why = SYMBOL.test(amount)
      ? symbolReason()
      : 'has a comma (thousands separators and decimal commas are ambiguous): write e.g. 1000 or 1000.50';
    return fail(field, raw, why);
  }
  const parts = AMOUNT.exec(amount);
  const whole = parts?.[2] ?? '';
  const fraction = parts?.[3] ?? '';
  if (parts === null || (whole === '' && fraction === '')) {
    return fail(field, raw, SYMBOL.test(amount) ? symbolReason() : 'is not a number');
  }
  if (parts[1] === '-' && /[1-9]/.test(whole + fraction)) return fail(field, raw, 'is negative');
  if (!/[1-9]/.test(whole + fraction)) return fail(field, raw, 'is zero: a product needs a price above 0');
  const digits = minorDigits(code);
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > digits) {
    return fail(
      field,
      raw,
      `has ${significant.length} decimal place${significant.length === 1 ? '' : 's'} but ${code} has ${digits}`,
    );
  }
  const integer = whole.replace(/^0+(?=\d)/, '') || '0';
  const value = digits === 0 ? integer : `${integer}.${significant.padEnd(digits, '0')}`;
  return { ok: true, value: `${value} ${code}` };
}

function symbolReason(): string {
  return 'uses a currency symbol: write the ISO 4217 code instead, e.g. "9.99 USD"';
}

function fail(field: string, raw: string, why: string): PriceResult {
  return { ok: false, reason: `${field} ${quote(raw)} ${why}` };
}
