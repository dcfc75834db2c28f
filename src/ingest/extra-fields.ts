import { normalisePrice } from './price.ts';
import { lengthProblem, quote } from './text.ts';

/**
 * Rules for extra columns that COLUMN_MAP sends to Meta fields we know something about. Fields not listed
 * here pass through as text; Meta answers an unknown field with a warning, not an error.
 */

export type ExtraResult = { ok: true; value: string | number } | { ok: false; reason: string };
export type ExtraRule = (value: string, currency: string) => ExtraResult;

/** Character limits from Meta's items_batch reference (PRODUCT_ITEM). */
const LENGTH_LIMITS: Record<string, number> = {
  gtin: 70,
  google_product_category: 250,
  product_type: 750,
  color: 100,
  pattern: 100,
  material: 200,
  rich_text_description: 9999,
  custom_label_0: 100,
  custom_label_1: 100,
  custom_label_2: 100,
  custom_label_3: 100,
  custom_label_4: 100,
};

const price: ExtraRule = (value, currency) => normalisePrice(value, currency, 'sale_price');

const quantity: ExtraRule = (value) =>
  /^\d{1,9}$/.test(value)
    ? { ok: true, value: Number(value) }
    : { ok: false, reason: `quantity_to_sell_on_facebook ${quote(value)} is not a whole number ≥ 0` };

function limited(field: string, max: number): ExtraRule {
  return (value) => {
    const reason = lengthProblem(field, value, max);
    return reason === null ? { ok: true, value } : { ok: false, reason };
  };
}

export function extraFieldRule(field: string): ExtraRule | null {
  if (field === 'sale_price') return price;
  if (field === 'quantity_to_sell_on_facebook') return quantity;
  const max = LENGTH_LIMITS[field];
  return max === undefined ? null : limited(field, max);
}
