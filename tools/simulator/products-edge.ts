/**
 * The catalog's products edge as the Graph API answers a token-bearing read,
 * `GET /{version}/{catalog_id}/products?fields=…&limit=…&after=…&filter=…&summary=true`:
 *
 * - `fields` (comma list or JSON array) names Product Item fields as Meta reads them back: `retailer_id`,
 *   `name` (written as title), `url` (link), `image_url` (image_link), `price` (a display string such as
 *   "$9.99") with `currency`, and the other item fields under their own names. Without `fields` only `id`
 *   (Meta's FBID) comes back; an unknown field is Meta's 100 "Tried accessing nonexisting field".
 *   https://developers.facebook.com/docs/marketing-api/reference/product-item/
 * - Cursor paging as the Graph API documents it: `paging.cursors.before/after`, and `paging.next` only
 *   when there is more; `limit` (default 25) is capped at 500, as Meta may cap it. A cursor points at an
 *   item; after that item is deleted it still marks its place (FBIDs only grow).
 *   https://developers.facebook.com/docs/graph-api/results/
 * - `filter`: Meta's filter rule JSON, `{"<field>": {"<operator>": value}}`, all fields must match;
 *   operators eq, neq, i_contains, contains, is_any (a list). Others are refused with 100.
 *   https://developers.facebook.com/docs/marketing-api/reference/product-catalog/products/
 *
 * Pure: the hook in index.ts checks the token and the read budget (80009, the Catalog Management bucket)
 * first, and passes the catalog's items (listGraph: FBID in `id`, items_batch field names).
 */

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 500;

/** Product Item read name → the stored (items_batch) field it shows. */
const STORED: Record<string, string> = { name: 'title', url: 'link', image_url: 'image_link' };

/** Fields a Product Item read may ask for (a subset of Meta's, enough for the simulator's items). */
export const READ_FIELDS = new Set([
  'id',
  'retailer_id',
  'name',
  'description',
  'availability',
  'condition',
  'price',
  'currency',
  'sale_price',
  'url',
  'image_url',
  'brand',
  'gtin',
  'mpn',
  'color',
  'size',
  'pattern',
  'material',
  'gender',
  'age_group',
  'item_group_id',
  'product_type',
  'google_product_category',
  'custom_label_0',
  'custom_label_1',
  'custom_label_2',
  'custom_label_3',
  'custom_label_4',
  'inventory',
  'quantity_to_sell_on_facebook',
  'visibility',
  'mobile_link',
]);

export type ProductsAnswer = { ok: true; body: unknown } | { ok: false; message: string };

export function graphProducts(
  items: readonly Record<string, unknown>[],
  params: Record<string, unknown>,
  url: URL,
): ProductsAnswer {
  const fields = parseFields(params.fields);
  if (typeof fields === 'string') return { ok: false, message: fields };
  const unknown = fields.find((f) => !READ_FIELDS.has(f));
  if (unknown !== undefined) {
    return {
      ok: false,
      message: `(#100) Tried accessing nonexisting field (${unknown}) on node type (ProductItem)`,
    };
  }
  let limit = DEFAULT_LIMIT;
  if (params.limit !== undefined && params.limit !== '') {
    const n = Number(params.limit);
    if (!Number.isInteger(n) || n < 1)
      return { ok: false, message: '(#100) Param limit must be a positive integer' };
    limit = Math.min(n, MAX_LIMIT);
  }
  let matches: (item: Record<string, unknown>) => boolean = () => true;
  if (typeof params.filter === 'string' && params.filter.trim() !== '') {
    const parsed = parseFilter(params.filter);
    if (typeof parsed === 'string') return { ok: false, message: parsed };
    matches = parsed;
  }
  let after: bigint | null = null;
  if (typeof params.after === 'string' && params.after !== '') {
    after = decodeCursor(params.after);
    if (after === null) return { ok: false, message: '(#100) Invalid cursor in param after' };
  }
  const all = items.filter(matches);
  const start = after === null ? 0 : firstAfter(all, after);
  const page = all.slice(start, start + limit);
  const data = page.map((item) => project(item, fields));
  const body: Record<string, unknown> = { data };
  if (page.length > 0) {
    const cursors = { before: encodeCursor(page[0]!.id), after: encodeCursor(page.at(-1)!.id) };
    const paging: Record<string, unknown> = { cursors };
    if (start + limit < all.length) {
      const next = new URL(url.href);
      next.searchParams.set('after', cursors.after);
      next.searchParams.set('limit', String(limit));
      paging.next = next.href;
    }
    body.paging = paging;
  }
  if (params.summary === 'true' || params.summary === true) body.summary = { total_count: all.length };
  return { ok: true, body };
}

function parseFields(raw: unknown): string[] | string {
  if (raw === undefined || raw === '') return ['id'];
  if (typeof raw !== 'string') return '(#100) Param fields must be a string';
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(text);
      if (Array.isArray(list) && list.every((f) => typeof f === 'string')) return list.map((f) => f.trim());
    } catch {
      // falls through to the message below
    }
    return '(#100) Param fields must be a comma-separated list or a JSON array of field names';
  }
  return text
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
}

/** The item as a Product Item read shows it: only the asked fields, under their read names. */
function project(item: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const price = splitPrice(item.price);
  for (const f of fields) {
    let v: unknown;
    if (f === 'price') v = price ? display(price.amount, price.currency) : undefined;
    else if (f === 'sale_price') {
      const sale = splitPrice(item.sale_price);
      v = sale ? display(sale.amount, sale.currency) : undefined;
    } else if (f === 'currency') v = price?.currency;
    else v = item[STORED[f] ?? f];
    if (v !== undefined && v !== null) out[f] = v;
  }
  if (!('id' in out)) out.id = item.id; // Graph nodes always carry their id
  return out;
}

function splitPrice(v: unknown): { amount: string; currency: string } | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?) ([A-Z]{3})$/.exec(v);
  return m ? { amount: m[1]!, currency: m[2]! } : null;
}

/** "9.99 USD" → "$9.99", as a price is displayed (en-US formatting). */
function display(amount: string, currency: string): string {
  try {
    const digits = amount.includes('.') ? amount.split('.')[1]!.length : 0;
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

function encodeCursor(fbid: unknown): string {
  return Buffer.from(`fbid:${String(fbid)}`).toString('base64url');
}

function decodeCursor(cursor: string): bigint | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^fbid:(\d+)$/.exec(text);
  return m ? BigInt(m[1]!) : null;
}

function firstAfter(items: readonly Record<string, unknown>[], fbid: bigint): number {
  const i = items.findIndex((item) => BigInt(String(item.id)) > fbid);
  return i < 0 ? items.length : i;
}

const OPERATORS = ['eq', 'neq', 'i_contains', 'contains', 'is_any'] as const;

function parseFilter(raw: string): ((item: Record<string, unknown>) => boolean) | string {
  let rule: unknown;
  try {
    rule = JSON.parse(raw);
  } catch {
    return '(#100) Param filter must be a JSON-encoded rule';
  }
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    return '(#100) Param filter must be a JSON object of {"field": {"operator": value}}';
  }
  const tests: ((item: Record<string, unknown>) => boolean)[] = [];
  for (const [field, cond] of Object.entries(rule)) {
    if (!READ_FIELDS.has(field)) return `(#100) Filter field ${field} is not a field of ProductItem`;
    if (typeof cond !== 'object' || cond === null)
      return `(#100) Filter on ${field} must be {"operator": value}`;
    for (const [op, value] of Object.entries(cond as Record<string, unknown>)) {
      if (!(OPERATORS as readonly string[]).includes(op)) {
        return `(#100) Filter operator ${op} is not supported by the simulator (${OPERATORS.join(', ')})`;
      }
      const get = (item: Record<string, unknown>) => {
        const v = field === 'retailer_id' || field === 'id' ? item[field] : project(item, [field])[field];
        return v === undefined || v === null ? '' : String(v);
      };
      tests.push((item) => {
        const v = get(item);
        switch (op) {
          case 'eq':
            return v === String(value);
          case 'neq':
            return v !== String(value);
          case 'i_contains':
            return v.toLowerCase().includes(String(value).toLowerCase());
          case 'contains':
            return v.includes(String(value));
          default:
            return Array.isArray(value) && value.map(String).includes(v);
        }
      });
    }
  }
  return (item) => tests.every((t) => t(item));
}

/**
 * A read with a token (Bearer header or access_token) gets the Graph API's answer; one without keeps the
 * simulator's open view of the catalog (every field, no paging, `?format=table`), for people.
 */
export function bearsToken(headers: { authorization?: string | undefined }, url: URL): boolean {
  return (
    /^Bearer\s+\S/i.test(headers.authorization ?? '') || (url.searchParams.get('access_token') ?? '') !== ''
  );
}
