import { GraphApiError, type GraphEndpoint } from './graph-error.ts';
import type { CatalogItem, ListProductsOptions } from './types.ts';

/**
 * What the client sends, built without I/O: the items_batch body, the queries of the reads, and the
 * refusals made before any HTTP (no items, too many, an item without id, a body over the byte limit).
 * `appsecret_proof` (an HMAC, not a secret) goes in the JSON body of POSTs and the query of GETs.
 */

/** Meta's own cap on items per items_batch call. */
export const META_MAX_BATCH_ITEMS = 5000;

/** Cheapest read that needs both a working token and access to the catalog. */
const PROBE_FIELDS = 'id';

const STATUS_FIELDS =
  'handle,status,errors,errors_total_count,warnings,warnings_total_count,ids_of_invalid_requests';

/**
 * The items_batch body: `item_type=PRODUCT_ITEM`, `allow_upsert=true`, one `{method, data}` per item. A
 * proof is always 64 hex characters, so the size measured with one token is the size with the next.
 */
export function itemsBatchBody(
  items: CatalogItem[],
  proof: string | null,
  method: 'UPDATE' | 'DELETE' = 'UPDATE',
): string {
  const body: Record<string, unknown> = {
    item_type: 'PRODUCT_ITEM',
    allow_upsert: true,
    requests: items.map((data) => ({ method, data })),
  };
  if (proof) body.appsecret_proof = proof;
  return JSON.stringify(body);
}

/** Items that may go in one items_batch call, or the GraphApiError Meta would answer (or worse, none). */
export function checkItemsToSend(items: CatalogItem[], maxItems: number): void {
  const endpoint: GraphEndpoint = 'items_batch';
  if (items.length === 0) {
    throw new GraphApiError({
      kind: 'invalid-parameter',
      endpoint,
      message: 'items_batch: no items to send',
    });
  }
  if (items.length > maxItems) {
    throw new GraphApiError({
      kind: 'payload-too-large',
      endpoint,
      message: `items_batch: ${items.length} items is more than the ${maxItems} allowed per call; split the batch`,
    });
  }
  const missingId = items.findIndex((it) => typeof it.id !== 'string' || it.id === '');
  if (missingId >= 0) {
    throw new GraphApiError({
      kind: 'invalid-parameter',
      endpoint,
      message: `items_batch: item ${missingId} has no id`,
    });
  }
}

export function checkPayloadBytes(bytes: number, maxPayloadBytes: number): void {
  if (bytes > maxPayloadBytes) {
    throw new GraphApiError({
      kind: 'payload-too-large',
      endpoint: 'items_batch',
      message: `items_batch: body of ${bytes} bytes is over the ${maxPayloadBytes}-byte limit; split the batch`,
    });
  }
}

export function checkIdsToDelete(ids: string[], maxItems: number): void {
  if (ids.length === 0 || ids.length > maxItems) {
    throw new GraphApiError({
      kind: ids.length === 0 ? 'invalid-parameter' : 'payload-too-large',
      endpoint: 'items_batch',
      message: `items_batch: ${ids.length} deletions; send 1 to ${maxItems} per call`,
    });
  }
}

function withProof(q: URLSearchParams, proof: string | null): URLSearchParams {
  if (proof) q.set('appsecret_proof', proof);
  return q;
}

export function probeQuery(proof: string | null): URLSearchParams {
  return withProof(new URLSearchParams({ fields: PROBE_FIELDS }), proof);
}

export function productsQuery(options: ListProductsOptions, proof: string | null): URLSearchParams {
  const q = new URLSearchParams({ fields: options.fields.join(','), limit: String(options.limit) });
  if (options.after) q.set('after', options.after);
  if (options.filter) q.set('filter', JSON.stringify(options.filter));
  return withProof(q, proof);
}

export function statusQuery(handle: string, proof: string | null): URLSearchParams {
  return withProof(
    new URLSearchParams({ handle, load_ids_of_invalid_requests: 'true', fields: STATUS_FIELDS }),
    proof,
  );
}
