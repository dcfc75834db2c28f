import { GraphApiError, type GraphEndpoint } from './graph-error.ts';
import type { BatchIssue, BatchStatus, ItemsBatchAccepted, ProductsPage } from './types.ts';

/**
 * Reading Meta's successful answers into the types of types.ts. Pure; a body that is not what the endpoint
 * documents is a GraphApiError of kind 'unknown' (classified, retried and reported like any other).
 */

export function unexpectedResponse(endpoint: GraphEndpoint, what: string): GraphApiError {
  return new GraphApiError({
    kind: 'unknown',
    endpoint,
    message: `${endpoint}: unexpected response: ${what}`,
  });
}

const messages = (list: unknown): string[] =>
  Array.isArray(list)
    ? list.map((m) =>
        typeof m === 'object' && m !== null && 'message' in m
          ? String((m as { message: unknown }).message)
          : String(m),
      )
    : [];

export function parseItemsBatchResponse(body: unknown): ItemsBatchAccepted {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { handles?: unknown }).handles)) {
    throw unexpectedResponse('items_batch', 'no "handles" array');
  }
  const b = body as { handles: unknown[]; validation_status?: unknown };
  const first = b.handles[0];
  const validation = Array.isArray(b.validation_status)
    ? b.validation_status.map((v) => {
        const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
        return {
          id: o.retailer_id === undefined || o.retailer_id === null ? '' : String(o.retailer_id),
          errors: messages(o.errors),
          warnings: messages(o.warnings),
        };
      })
    : [];
  return { handle: typeof first === 'string' && first !== '' ? first : null, validation };
}

/**
 * A page of GET /{catalog_id}/products: `data`, and `paging.cursors.after` while `paging.next` says there
 * is more (Graph API cursor paging: no `next` means the last page).
 */
export function parseProductsPage(body: unknown): ProductsPage {
  const b = (typeof body === 'object' && body !== null ? body : {}) as {
    data?: unknown;
    paging?: { cursors?: { after?: unknown }; next?: unknown };
  };
  if (!Array.isArray(b.data)) throw unexpectedResponse('catalog', 'no "data" array in the products page');
  const items = b.data.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  const after = b.paging?.cursors?.after;
  const more = typeof b.paging?.next === 'string' && b.paging.next !== '';
  return { items, after: more && typeof after === 'string' && after !== '' ? after : null };
}

/** The catalog node a probe reads: it must carry the catalog's id. */
export function checkCatalogNode(body: unknown): void {
  const node = body as { id?: unknown } | null;
  if (
    typeof node !== 'object' ||
    node === null ||
    (typeof node.id !== 'string' && typeof node.id !== 'number')
  ) {
    throw unexpectedResponse('catalog', 'no "id" in the catalog node');
  }
}

const issues = (list: unknown): BatchIssue[] =>
  Array.isArray(list)
    ? list.map((e) => {
        const o = (typeof e === 'object' && e !== null ? e : { message: e }) as Record<string, unknown>;
        const issue: BatchIssue = {
          id: o.id === undefined || o.id === null ? null : String(o.id),
          message: typeof o.message === 'string' ? o.message : JSON.stringify(o.message ?? null),
        };
        const line = typeof o.line === 'string' ? Number(o.line) : o.line;
        if (typeof line === 'number' && Number.isFinite(line)) issue.line = line;
        return issue;
      })
    : [];

const count = (v: unknown, fallback: number): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
};

/**
 * Final statuses: `finished` and `error`; `canceled`/`cancelled` (documented, never seen: open question 8 in src/meta/README.md)
 * is reported as kind 'error' with its raw value. Everything else (dispatched, started, scheduled, …) is
 * still running.
 */
export function parseBatchStatus(body: unknown, handle: string): BatchStatus {
  const data = typeof body === 'object' && body !== null ? (body as { data?: unknown }).data : undefined;
  const node = Array.isArray(data) ? data[0] : undefined;
  if (typeof node !== 'object' || node === null)
    throw unexpectedResponse('check_batch_request_status', 'no data[0]');
  const n = node as Record<string, unknown>;
  const raw = String(n.status ?? '').toLowerCase();
  const h = typeof n.handle === 'string' ? n.handle : handle;
  if (raw !== 'finished' && raw !== 'error' && raw !== 'canceled' && raw !== 'cancelled') {
    return { kind: 'running', handle: h, raw };
  }
  const errors = issues(n.errors);
  const warnings = issues(n.warnings);
  return {
    kind: raw === 'finished' ? 'finished' : 'error',
    handle: h,
    raw,
    errorsTotal: count(n.errors_total_count, errors.length),
    warningsTotal: count(n.warnings_total_count, warnings.length),
    errors,
    warnings,
    invalidIds: Array.isArray(n.ids_of_invalid_requests) ? n.ids_of_invalid_requests.map(String) : [],
  };
}
