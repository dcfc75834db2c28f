/**
 * The contract between the worker and Meta's Catalog Batch API. The client (items-batch-client.ts)
 * implements CatalogClient; the worker depends only on this file.
 */

/** One product as Meta's items_batch expects it in `data` (retailer id in `id`). */
export interface CatalogItem {
  id: string;
  [field: string]: string | number | boolean | undefined;
}

/** Sample entry from validation_status or check_batch_request_status errors/warnings. */
export interface BatchIssue {
  id: string | null;
  message: string;
  line?: number;
}

export interface ItemsBatchAccepted {
  /** Null when Meta ingested nothing (empty `handles`). */
  handle: string | null;
  /** First-pass validation per item, only for items with issues. */
  validation: { id: string; errors: string[]; warnings: string[] }[];
}

interface StatusBase {
  handle: string;
  /** Meta's raw status string, lower-cased. */
  raw: string;
}
/** Meta is still working on the batch (dispatched, started, scheduled, …). */
export interface BatchRunning extends StatusBase {
  kind: 'running';
}
/** Final: `finished` (rows with errors were not saved) or `error` (some rows may be unapplied). */
export interface BatchFinal extends StatusBase {
  kind: 'finished' | 'error';
  errorsTotal: number;
  warningsTotal: number;
  /** Samples only; `invalidIds` is the complete list of rejected retailer ids. */
  errors: BatchIssue[];
  warnings: BatchIssue[];
  invalidIds: string[];
}
export type BatchStatus = BatchRunning | BatchFinal;

export type GraphErrorKind =
  | 'throttled' // 4, 17, 32, 613, 80000-80014 …: retry after retryAfterMs (Meta's wait, or a bounded backoff)
  | 'transient' // 1 (not items_batch size), 2, 5xx, network, timeouts: retry with backoff
  | 'payload-too-large' // 1 on items_batch: send fewer items
  | 'auth' // 102, 104, 190, 100 naming appsecret_proof/access token, an unusable token: halt, probe
  | 'permission' // 10, 200-299, 100/33 (catalog not visible to the token): halt, probe
  | 'invalid-parameter' // 100 otherwise: a bug or a bad request, do not retry
  | 'budget-exhausted' // our own hourly budget says wait; not an error Meta returned
  | 'unknown';

/** One read of the catalog's items (GET /{catalog_id}/products). */
export interface ListProductsOptions {
  /** Item fields as the Graph API reads them (retailer_id, name, price, url, …), not items_batch's names. */
  fields: readonly string[];
  /** Items per page; Meta may return fewer. */
  limit: number;
  /** The `after` cursor of the previous page; absent for the first. */
  after?: string | null;
  /** Meta's filter rule, e.g. {"retailer_id": {"eq": "SKU-1"}}; sent as JSON. */
  filter?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface ProductsPage {
  /** The items as Meta answered them (fields asked for, Meta's FBID in `id`). */
  items: Record<string, unknown>[];
  /** Cursor of the next page; null on the last page (Meta's answer had no `paging.next`). */
  after: string | null;
}

export interface CatalogClient {
  /** POST items_batch with UPDATE (upsert) records. Throws GraphApiError after bounded retries. */
  itemsBatch(items: CatalogItem[], options?: { signal?: AbortSignal }): Promise<ItemsBatchAccepted>;
  /** GET check_batch_request_status with load_ids_of_invalid_requests=true. */
  checkBatchStatus(handle: string, options?: { signal?: AbortSignal }): Promise<BatchStatus>;
  /** Bytes the items_batch body for these items would take; the worker uses it to chunk. */
  payloadBytes(items: CatalogItem[]): number;
  /** items_batch calls the worker may still make in the current rolling hour. */
  budgetRemaining(): number;
  /**
   * One cheap read that needs a working token and access to the catalog (`GET /{catalog_id}?fields=id`),
   * not retried and not counted against the items_batch budget. Resolves when the credentials work;
   * throws GraphApiError ('auth'/'permission' while they do not, 'transient'/'throttled' when Meta could
   * not say). A halted worker calls refreshCredentials() then probe() every AUTH_PROBE_INTERVAL_MS.
   */
  probe(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Re-reads the token source (Secrets Manager), so a rotated token is used from the next call on; a
   * no-op for a token from META_ACCESS_TOKEN. Throws GraphApiError ('auth': the secret is gone or not
   * readable; 'transient': Secrets Manager did not answer), keeping the token in force.
   */
  refreshCredentials(): Promise<void>;
  /**
   * One page of the catalog's items: `GET /{catalog_id}/products?fields=…&limit=…&after=…`, retried like
   * the other reads, not counted against the items_batch budget (reads are Meta's Catalog Management
   * bucket; 80009 when it is spent). Optional: only the Graph client reads the catalog back (drift checks).
   */
  listProducts?(options: ListProductsOptions): Promise<ProductsPage>;
  /**
   * items_batch with one `DELETE` record per retailer id, through the same budget and retries as
   * itemsBatch. Optional, like listProducts: used only to delete orphans (drift checks, when configured).
   */
  deleteItems?(ids: string[], options?: { signal?: AbortSignal }): Promise<ItemsBatchAccepted>;
}
