import type { CatalogState, Row } from './catalog.ts';
import { checkRecord, RecordError, type RowLimits } from './validate.ts';

/**
 * Out-of-band changes to the simulated catalog, as a person in Commerce Manager (or another feed) would
 * make them, so tests can create drift between what catalog-sync sent and what the catalog holds:
 *
 *   PATCH  /_admin/products/{catalog_id}/{retailer_id}   body: fields to set ("" clears one)
 *   DELETE /_admin/products/{catalog_id}/{retailer_id}
 *   POST   /_admin/products/{catalog_id}                 body: a whole item, with its `id`
 *
 * Field names are items_batch's (title, link, price "9.99 USD", …). Each change is applied at once, in
 * order with the batches already due, and is recorded in the history like any application (its handle
 * starts with "Ac", like a batch's; it counts against no budget and is not in the call log).
 */

export interface AdminProductsContext {
  state: CatalogState;
  now: () => number;
  limits: RowLimits;
}

export interface AdminReply {
  status: number;
  body: unknown;
}

export const ADMIN_PRODUCT_ROUTES = [
  'PATCH /_admin/products/{catalog_id}/{retailer_id} (edit out of band)',
  'DELETE /_admin/products/{catalog_id}/{retailer_id} (delete out of band)',
  'POST /_admin/products/{catalog_id} (add out of band)',
];

/** The reply for an out-of-band route, or null when the route is not one of them. */
export function adminProducts(
  ctx: AdminProductsContext,
  method: string,
  path: string,
  readJson: () => unknown,
): AdminReply | null {
  const m = /^\/_admin\/products\/([^/]+)(?:\/([^/]+))?\/?$/.exec(path);
  if (!m) return null;
  // Batches whose time has come are applied first: an edit lands after them, as it would in real time.
  ctx.state.processDue(ctx.now());
  const catalogId = decodeURIComponent(m[1]!);
  const id = m[2] === undefined ? null : decodeURIComponent(m[2]);
  const exists = (rid: string) => ctx.state.list(catalogId).some((p) => p.id === rid);
  if (method === 'PATCH' && id !== null) {
    if (!exists(id)) return notFound(catalogId, id);
    const fields = readJson();
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      return { status: 400, body: { error: 'the body must be a JSON object of the fields to set' } };
    }
    return apply(ctx, catalogId, { method: 'UPDATE', data: { ...fields, id } });
  }
  if (method === 'DELETE' && id !== null) {
    if (!exists(id)) return notFound(catalogId, id);
    return apply(ctx, catalogId, { method: 'DELETE', data: { id } });
  }
  if (method === 'POST' && id === null) {
    const item = readJson();
    const rid = (item as { id?: unknown } | null)?.id;
    if (typeof item !== 'object' || item === null || typeof rid !== 'string' || rid === '') {
      return { status: 400, body: { error: 'the body must be a whole item with a string "id"' } };
    }
    if (exists(rid))
      return { status: 409, body: { error: `item ${rid} exists in catalog ${catalogId}; PATCH it` } };
    return apply(ctx, catalogId, { method: 'CREATE', data: item });
  }
  return {
    status: 405,
    body: { error: `${method} ${path}: use ${ADMIN_PRODUCT_ROUTES.join('; ')}` },
  };
}

function notFound(catalogId: string, id: string): AdminReply {
  return { status: 404, body: { error: `no item ${id} in catalog ${catalogId}` } };
}

function apply(ctx: AdminProductsContext, catalogId: string, record: unknown): AdminReply {
  let check;
  try {
    check = checkRecord(record, 0, ctx.limits);
  } catch (err) {
    if (err instanceof RecordError) return { status: 400, body: { error: err.message } };
    throw err;
  }
  if (check.errors.length > 0) return { status: 400, body: { error: check.errors.join('; ') } };
  const row: Row = { ...check, rejectedByFault: false, lateErrors: [] };
  const at = ctx.now();
  const batch = ctx.state.addBatch({
    catalogId,
    submittedAt: at,
    dueAt: at,
    allowUpsert: true,
    rows: [row],
    failed: false,
  });
  ctx.state.processDue(at);
  if (row.lateErrors.length > 0) return { status: 400, body: { error: row.lateErrors.join('; ') } };
  const item = ctx.state.list(catalogId).find((p) => p.id === check.id) ?? null;
  return { status: 200, body: { applied: check.method, handle: batch.handle, item } };
}
