/**
 * Meta's rules for PRODUCT_ITEM records (Meta's Catalog Batch API docs, src/meta/README.md), as the simulator applies them.
 *
 * First pass (at items_batch time, reported in `validation_status` and later in the status):
 * the record's shape, the id, and the format of every field present. Structural problems (a record
 * that is not an object, a method outside CREATE/UPDATE/DELETE, `data` not an object) refuse the whole
 * call with code 100; everything else is a per-row error. Unknown fields are warnings only.
 *
 * Second pass (when the batch is processed, reported only in the status): required fields of the
 * resulting item (a CREATE, or an UPDATE that inserts), `allow_upsert=false` for unknown ids, and the
 * `rejectIdPattern` fault.
 */

export const ITEM_TYPES = [
  'APP_AND_SOFTWARE',
  'DESTINATION',
  'FLIGHT',
  'HOME_LISTING',
  'HOTEL',
  'HOTEL_ROOM',
  'PRODUCT_ITEM',
  'STORE_PRODUCT_ITEM',
  'VEHICLE',
  'VEHICLE_OFFER',
] as const;

export const METHODS = ['CREATE', 'UPDATE', 'DELETE'] as const;
export type RecordMethod = (typeof METHODS)[number];

/** The items_batch reference's values plus the SDK enum's extras; spaces, not underscores. */
export const AVAILABILITY = [
  'in stock',
  'out of stock',
  'available for order',
  'discontinued',
  'preorder',
  'pending',
  'mark_as_sold',
  'mark_as_expired',
];
export const CONDITION = [
  'new',
  'refurbished',
  'used',
  'cpo',
  'open_box_new',
  'used_like_new',
  'used_good',
  'used_fair',
];

/** Amount with `.` decimals, one space, ISO 4217 code: "9.99 USD", "14 GBP". */
export const PRICE_RE = /^\d+(\.\d+)? [A-Z]{3}$/;

export const REQUIRED_FIELDS = [
  'title',
  'description',
  'availability',
  'condition',
  'price',
  'link',
  'brand',
];

const MAX_LENGTH: Record<string, number> = {
  id: 100,
  gtin: 70,
  mpn: 100,
  brand: 100,
  color: 100,
  size: 100,
  pattern: 100,
  material: 200,
  item_group_id: 100,
  google_product_category: 250,
  fb_product_category: 250,
  product_type: 750,
  rich_text_description: 9999,
  custom_label_0: 100,
  custom_label_1: 100,
  custom_label_2: 100,
  custom_label_3: 100,
  custom_label_4: 100,
  internal_label: 5000,
};

const URL_FIELDS = new Set(['link', 'image_link', 'mobile_link']);
const STRING_FIELDS = new Set([
  'title',
  'description',
  'availability',
  'condition',
  'price',
  'sale_price',
  'sale_price_effective_date',
  'link',
  'mobile_link',
  'image_link',
  'brand',
  'gtin',
  'mpn',
  'item_group_id',
  'google_product_category',
  'fb_product_category',
  'product_type',
  'color',
  'size',
  'pattern',
  'material',
  'gender',
  'age_group',
  'rich_text_description',
  'additional_variant_attribute',
  'custom_label_0',
  'custom_label_1',
  'custom_label_2',
  'custom_label_3',
  'custom_label_4',
  'status',
  'visibility',
  'origin_country',
  'short_description',
  'shipping_weight',
]);
/** Fields Meta knows that are not plain strings. */
const OTHER_FIELDS = new Set([
  'id',
  'image',
  'additional_image_link',
  'shipping',
  'quantity_to_sell_on_facebook',
  'inventory',
  'internal_label',
  'video',
  'product_tags',
]);

export interface RowLimits {
  titleMaxLength: number;
  descriptionMaxLength: number;
}

export interface RowCheck {
  index: number;
  method: RecordMethod;
  id: string | null;
  data: Record<string, unknown>;
  errors: string[];
  warnings: string[];
}

export class RecordError extends Error {
  override readonly name = 'RecordError';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isHttpUrl(v: string): boolean {
  if (!/^https?:\/\//i.test(v)) return false;
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

/** First pass over one record. Throws RecordError for problems that refuse the whole call. */
export function checkRecord(rec: unknown, index: number, limits: RowLimits): RowCheck {
  if (!isObject(rec))
    throw new RecordError(`(#100) requests[${index}] must be an object with method and data`);
  const method = typeof rec.method === 'string' ? rec.method.toUpperCase() : rec.method;
  if (!METHODS.includes(method as RecordMethod)) {
    throw new RecordError(
      `(#100) requests[${index}].method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(rec.method ?? null)}`,
    );
  }
  if (!isObject(rec.data)) throw new RecordError(`(#100) requests[${index}].data must be an object`);
  const data = rec.data;
  const row: RowCheck = { index, method: method as RecordMethod, id: null, data, errors: [], warnings: [] };

  const rawId = data.id;
  if (typeof rawId === 'number' && Number.isFinite(rawId)) row.id = String(rawId);
  else if (typeof rawId === 'string' && rawId.trim() !== '') row.id = rawId;
  if (row.id === null) row.errors.push('Required field "id" is missing or empty');
  else if (row.id.length > MAX_LENGTH.id!)
    row.errors.push(`Field "id" is longer than ${MAX_LENGTH.id} characters (${row.id.length})`);
  if (row.method === 'DELETE') return row;

  for (const [field, value] of Object.entries(data)) {
    if (field === 'id') continue;
    if (value === null || value === undefined) continue; // null does not clear a field; ignored
    if (!isKnownField(field)) {
      row.warnings.push(`Unrecognised field: '${field}' is not a field of PRODUCT_ITEM and was ignored`);
      continue;
    }
    checkField(row, field, value, limits);
  }
  if (row.method === 'CREATE') {
    const missing = missingRequired(data);
    if (missing.length > 0) row.errors.push(`Missing required field(s) for CREATE: ${missing.join(', ')}`);
  }
  return row;
}

function checkField(row: RowCheck, field: string, value: unknown, limits: RowLimits): void {
  const err = (msg: string) => row.errors.push(msg);
  if (STRING_FIELDS.has(field) && typeof value !== 'string') {
    err(`Field "${field}" must be a string, got ${typeof value}`);
    return;
  }
  if (typeof value === 'string' && value === '') {
    // An empty string clears an optional field; a required one cannot be cleared.
    if (REQUIRED_FIELDS.includes(field) || field === 'image_link')
      err(`Required field "${field}" cannot be empty`);
    return;
  }
  const max =
    field === 'title'
      ? limits.titleMaxLength
      : field === 'description'
        ? limits.descriptionMaxLength
        : MAX_LENGTH[field];
  if (typeof value === 'string' && max !== undefined && value.length > max) {
    err(`Field "${field}" is longer than ${max} characters (${value.length})`);
    return;
  }
  const s = value as string;
  switch (field) {
    case 'availability':
      if (!AVAILABILITY.includes(s))
        err(`Invalid availability "${s}": expected one of ${AVAILABILITY.join(', ')}`);
      break;
    case 'condition':
      if (!CONDITION.includes(s)) err(`Invalid condition "${s}": expected one of ${CONDITION.join(', ')}`);
      break;
    case 'price':
    case 'sale_price':
      if (!PRICE_RE.test(s))
        err(`Invalid ${field} "${s}": expected an amount and an ISO 4217 code, e.g. "9.99 USD"`);
      break;
    case 'sale_price_effective_date': {
      const parts = s.split('/');
      if (parts.length !== 2 || parts.some((p) => Number.isNaN(Date.parse(p)))) {
        err(`Invalid sale_price_effective_date "${s}": expected "<ISO start>/<ISO end>"`);
      }
      break;
    }
    case 'additional_image_link': {
      const urls = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : null;
      if (!urls || urls.some((u) => typeof u !== 'string' || !isHttpUrl(u.trim()))) {
        err('Field "additional_image_link" must be http(s) URLs (an array or comma-separated)');
      }
      break;
    }
    case 'image': {
      const ok =
        Array.isArray(value) &&
        value.length <= 21 &&
        value.every((img) => isObject(img) && typeof img.url === 'string' && isHttpUrl(img.url));
      if (!ok) err('Field "image" must be an array of at most 21 {url, tag} objects with http(s) URLs');
      break;
    }
    case 'quantity_to_sell_on_facebook':
    case 'inventory': {
      const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        err(`Field "${field}" must be a whole number ≥ 0`);
      break;
    }
    default:
      if (URL_FIELDS.has(field) && !isHttpUrl(s))
        err(`Invalid URL in "${field}": must begin with http:// or https://`);
  }
}

/** Required fields absent (or empty) in a complete item: `image_link` or a non-empty `image` counts. */
export function missingRequired(item: Record<string, unknown>): string[] {
  const has = (f: string) => item[f] !== undefined && item[f] !== null && item[f] !== '';
  const missing = REQUIRED_FIELDS.filter((f) => !has(f));
  if (!has('image_link') && !(Array.isArray(item.image) && item.image.length > 0))
    missing.push('image_link (or image)');
  return missing;
}

export function isKnownField(field: string): boolean {
  return STRING_FIELDS.has(field) || OTHER_FIELDS.has(field);
}

/** Applies an UPDATE's fields to a stored item: "" clears, null is ignored, unknown fields are dropped. */
export function mergeItem(
  base: Record<string, unknown> | undefined,
  data: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(data)) {
    if (v === null || v === undefined || !isKnownField(k)) continue;
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}
