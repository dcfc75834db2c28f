import { quote } from './text.ts';

/**
 * Availability as Meta spells it (with spaces): in stock, out of stock, available for order, preorder,
 * discontinued. Common spellings are mapped: any case, `_`/`-` for spaces, CamelCase and schema.org URLs
 * (InStock, https://schema.org/OutOfStock), and a few synonyms (available, sold out, backorder, pre-order).
 * Yes/no flags are refused on purpose: a boolean cannot say preorder or available for order, and guessing
 * could publish an unsellable product as buyable.
 */

export const AVAILABILITY_VALUES = [
  'in stock',
  'out of stock',
  'available for order',
  'preorder',
  'discontinued',
];

const CANONICAL = new Set(AVAILABILITY_VALUES);

const SYNONYMS = new Map<string, string>([
  ['instock', 'in stock'],
  ['available', 'in stock'],
  ['limited availability', 'in stock'],
  ['outofstock', 'out of stock'],
  ['sold out', 'out of stock'],
  ['soldout', 'out of stock'],
  ['unavailable', 'out of stock'],
  ['availablefororder', 'available for order'],
  ['backorder', 'available for order'],
  ['back order', 'available for order'],
  ['pre order', 'preorder'],
]);

const FLAGS = new Set(['yes', 'no', 'y', 'n', 'true', 'false', '1', '0']);

export type AvailabilityResult = { ok: true; value: string } | { ok: false; reason: string };

export function normaliseAvailability(raw: string): AvailabilityResult {
  if (CANONICAL.has(raw)) return { ok: true, value: raw };
  const key = raw
    .replace(/^https?:\/\/schema\.org\//i, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ')
    .trim();
  const value = CANONICAL.has(key) ? key : SYNONYMS.get(key);
  if (value !== undefined) return { ok: true, value };
  if (FLAGS.has(key)) {
    return {
      ok: false,
      reason: `availability ${quote(raw)} is a yes/no flag, which cannot say preorder or available for order: use in stock or out of stock`,
    };
  }
  return {
    ok: false,
    reason: `availability ${quote(raw)} is not a known value (use ${AVAILABILITY_VALUES.join(', ')})`,
  };
}
