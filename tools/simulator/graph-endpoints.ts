import type { Row } from './catalog.ts';
import type { SimContext } from './defaults.ts';
import { spend } from './graph-gate.ts';
import { GraphFailure, type Reply } from './graph-reply.ts';
import { boolParam } from './params.ts';
import { graphProducts } from './products-edge.ts';
import type { SimCall } from './types.ts';
import { checkRecord, ITEM_TYPES, RecordError, type RowCheck } from './validate.ts';

/** The Graph endpoints, after the gate (graph-gate.ts) let the call through. Each throws GraphFailure. */

export function itemsBatch(
  ctx: SimContext,
  params: Record<string, unknown>,
  catalogId: string,
  call: SimCall,
): Reply {
  const { o, state, faults, now } = ctx;
  const usage = spend(ctx, catalogId, 'items_batch');
  const itemType = params.item_type;
  if (itemType === undefined || itemType === '') {
    throw new GraphFailure({ code: 100, message: '(#100) The parameter item_type is required' });
  }
  if (typeof itemType !== 'string' || !(ITEM_TYPES as readonly string[]).includes(itemType)) {
    throw new GraphFailure({
      code: 100,
      message: `(#100) Param item_type must be one of {${ITEM_TYPES.join(', ')}}`,
    });
  }
  if (itemType !== 'PRODUCT_ITEM') {
    throw new GraphFailure({
      code: 100,
      message: `(#100) The simulator implements PRODUCT_ITEM only, not ${itemType}`,
    });
  }
  let requests = params.requests;
  if (requests === undefined || requests === '') {
    throw new GraphFailure({ code: 100, message: '(#100) The parameter requests is required' });
  }
  if (typeof requests === 'string') {
    try {
      requests = JSON.parse(requests);
    } catch {
      throw new GraphFailure({ code: 100, message: '(#100) Param requests must be a JSON array' });
    }
  }
  if (!Array.isArray(requests))
    throw new GraphFailure({ code: 100, message: '(#100) Param requests must be an array' });
  call.itemCount = requests.length;
  if (requests.length === 0) {
    throw new GraphFailure({
      code: 100,
      message: '(#100) Param requests must contain at least one request',
    });
  }
  if (requests.length > o.maxRequests) {
    throw new GraphFailure({
      code: 100,
      message: `(#100) Param requests must be an array with at most ${o.maxRequests} elements (got ${requests.length})`,
    });
  }
  let allowUpsert: boolean;
  try {
    allowUpsert = boolParam(params.allow_upsert, 'allow_upsert') ?? true;
  } catch (err) {
    throw new GraphFailure({ code: 100, message: (err as Error).message });
  }
  let checks: RowCheck[];
  try {
    checks = requests.map((r, i) => checkRecord(r, i, o));
  } catch (err) {
    if (err instanceof RecordError) throw new GraphFailure({ code: 100, message: err.message });
    throw err;
  }
  const validation_status = checks
    .filter((c) => c.errors.length > 0 || c.warnings.length > 0)
    .map((c) => ({
      retailer_id: c.id,
      errors: c.errors.map((message) => ({ message })),
      warnings: c.warnings.map((message) => ({ message })),
    }));
  if (checks.every((c) => c.errors.length > 0)) {
    return { status: 200, body: { handles: [], validation_status }, headers: usage };
  }
  const at = now();
  state.processDue(at);
  const failure = faults.batchFailure(checks.length);
  const rows: Row[] = checks.map((c, i) => ({
    ...c,
    rejectedByFault: faults.rejectsId(c.id),
    lateErrors: [],
    applyOnFail: failure?.apply[i] ?? false,
    listOnFail: failure?.list[i] ?? false,
  }));
  const batch = state.addBatch({
    catalogId,
    submittedAt: at,
    dueAt: at + o.processingDelayMs + faults.reorderHoldMs(),
    allowUpsert,
    rows,
    failed: failure !== null,
  });
  return {
    status: 200,
    body: { handles: [batch.handle], validation_status },
    headers: usage,
    handle: batch.handle,
  };
}

export function checkStatus(ctx: SimContext, params: Record<string, unknown>, catalogId: string): Reply {
  const { o, state, now } = ctx;
  const usage = spend(ctx, catalogId, 'check_batch_request_status');
  const handle = params.handle;
  if (typeof handle !== 'string' || handle === '') {
    throw new GraphFailure({ code: 100, message: '(#100) The parameter handle is required' });
  }
  let loadIds: boolean;
  try {
    loadIds = boolParam(params.load_ids_of_invalid_requests, 'load_ids_of_invalid_requests') ?? false;
  } catch (err) {
    throw new GraphFailure({ code: 100, message: (err as Error).message });
  }
  const batch = state.batch(handle);
  if (!batch || batch.catalogId !== catalogId) {
    throw new GraphFailure({ code: 100, message: `(#100) Invalid handle: ${handle}` });
  }
  const at = now();
  state.processDue(at);
  const v = state.view(batch, at, o.lineBase);
  const node: Record<string, unknown> = {
    handle,
    status: v.status,
    errors: v.errors.slice(0, o.errorSampleSize),
    errors_total_count: v.errors.length,
    warnings: v.warnings.slice(0, o.errorSampleSize),
    warnings_total_count: v.warnings.length,
    ids_of_invalid_requests: loadIds ? v.invalidIds : [],
  };
  const fields =
    typeof params.fields === 'string' && params.fields.trim() !== '' ? params.fields.split(',') : null;
  const out = fields
    ? Object.fromEntries(Object.entries(node).filter(([k]) => fields.map((f) => f.trim()).includes(k)))
    : node;
  return { status: 200, body: { data: [out] }, headers: usage, handle };
}

/** The catalog node, as Meta answers `GET /{catalog_id}?fields=…`: the fields asked for, id by default. */
export function catalogNode(ctx: SimContext, params: Record<string, unknown>, catalogId: string): Reply {
  const { state, now } = ctx;
  const usage = spend(ctx, catalogId, 'catalog');
  state.processDue(now());
  const known: Record<string, unknown> = {
    id: catalogId,
    name: `Simulated catalog ${catalogId}`,
    product_count: state.list(catalogId).length,
  };
  const asked = typeof params.fields === 'string' && params.fields.trim() !== '' ? params.fields : 'id';
  const node: Record<string, unknown> = {};
  for (const f of asked.split(',').map((x) => x.trim())) {
    if (!(f in known)) {
      throw new GraphFailure({
        code: 100,
        message: `(#100) Tried accessing nonexisting field (${f}) on node type (ProductCatalog)`,
      });
    }
    node[f] = known[f];
  }
  return { status: 200, body: node, headers: usage };
}

/** GET /products with a token: one page of the Graph edge (products-edge.ts), on the read budget. */
export function productsRead(
  ctx: SimContext,
  params: Record<string, unknown>,
  catalogId: string,
  url: URL,
): Reply {
  const { state, now } = ctx;
  const usage = spend(ctx, catalogId, 'catalog');
  state.processDue(now());
  const answer = graphProducts(state.listGraph(catalogId), params, url);
  if (!answer.ok) throw new GraphFailure({ code: 100, message: answer.message });
  return { status: 200, body: answer.body, headers: usage };
}

/** GET /products without a token: everything the catalog holds, as JSON or a plain-text table. */
export function productsReply(ctx: SimContext, catalogId: string, format: string | null): Reply {
  const { state, now } = ctx;
  state.processDue(now());
  const data = state.listGraph(catalogId);
  if (format === 'table') {
    const cols = ['retailer_id', 'title', 'price', 'availability', 'condition', 'brand'];
    const rows = data.map((p) => cols.map((c) => String(p[c] ?? '')));
    const widths = cols.map((c, i) => Math.min(40, Math.max(c.length, ...rows.map((r) => r[i]!.length))));
    const line = (cells: string[]) => cells.map((s, i) => s.slice(0, 40).padEnd(widths[i]!)).join('  ');
    const text =
      [`catalog ${catalogId}: ${data.length} products`, line(cols), ...rows.map(line)].join('\n') + '\n';
    return { status: 200, body: null, text, contentType: 'text/plain; charset=utf-8' };
  }
  return { status: 200, body: { data, summary: { total_count: data.length } } };
}
