import type { Logger } from '../logger.ts';
import { sleep } from '../shared/backoff.ts';
import { BUDGET_DEFAULTS, CallBudget } from './call-budget.ts';
import { GraphCredentials } from './graph-credentials.ts';
import type { GraphEndpoint } from './graph-error.ts';
import {
  checkIdsToDelete,
  checkItemsToSend,
  checkPayloadBytes,
  itemsBatchBody,
  META_MAX_BATCH_ITEMS,
  probeQuery,
  productsQuery,
  statusQuery,
} from './graph-requests.ts';
import {
  checkCatalogNode,
  parseBatchStatus,
  parseItemsBatchResponse,
  parseProductsPage,
} from './graph-responses.ts';
import { GraphRetries } from './graph-retries.ts';
import { GraphTransport } from './graph-transport.ts';
import { fixedToken, type TokenSource } from './token-source.ts';
import type {
  BatchStatus,
  CatalogClient,
  CatalogItem,
  ItemsBatchAccepted,
  ListProductsOptions,
  ProductsPage,
} from './types.ts';

/**
 * The Graph API client of the Catalog Batch endpoints (implements CatalogClient of types.ts); this file
 * wires its parts and says which call does what:
 *
 * - items_batch (graph-requests.ts builds the body): more than `batchMaxItems` items (never more than
 *   Meta's 5,000) or a body over `maxPayloadBytes` is refused before any HTTP with kind 'payload-too-large'.
 * - check_batch_request_status with `load_ids_of_invalid_requests=true` (graph-responses.ts reads it).
 * - The token travels only in `Authorization: Bearer` (graph-transport.ts); token and app secret are
 *   scrubbed from every message (graph-credentials.ts).
 * - Retries honouring Meta's waits and the per-catalog CallBudget: graph-retries.ts.
 * - The token comes from a TokenSource (a fixed token, or Secrets Manager re-read by
 *   `refreshCredentials()`). A token that cannot be valid (empty, whitespace, an invisible or non-ASCII
 *   character) is refused before any HTTP with kind 'auth', like a token Meta rejects.
 * - `probe()` is one GET of the catalog node (`fields=id`): the cheap "does the token work for this
 *   catalog" check a halted worker repeats. It takes no items_batch budget and is not retried.
 */

export interface CatalogClientOptions {
  graphUrl: string;
  apiVersion: string;
  catalogId: string;
  /** A fixed token (META_ACCESS_TOKEN); or give `tokenSource`. */
  accessToken?: string;
  /** Where to (re-)read the token from, e.g. Secrets Manager; wins over `accessToken`. */
  tokenSource?: TokenSource;
  appSecret?: string;
  hourlyCallBudget: number;
  maxRetries: number;
  requestTimeoutMs: number;
  maxPayloadBytes: number;
  batchMaxItems: number;
  logger: Logger;
  /** Injected in tests so backoff and budget waits take no real time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;

  /** Share one budget between clients of the same catalog; by default each client has its own. */
  budget?: CallBudget;
  /** Longest budget wait slept through inside itemsBatch; longer → GraphApiError 'budget-exhausted'. */
  maxBudgetWaitMs?: number;
  /** Longest single retry wait slept through; longer → the error is thrown with retryAfterMs. */
  maxRetryWaitMs?: number;
  /** First backoff step; doubles per attempt up to retryMaxDelayMs, then "equal jitter" (50–100 %). */
  retryBaseMs?: number;
  retryMaxDelayMs?: number;
  /** Budget tuning (see CallBudget). */
  budgetSlowdownPct?: number;
  budgetHardStopPct?: number;
  budgetWindowMs?: number;
  /** Bounded backoff after a throttle that names no wait (see CallBudget.refused). */
  throttleRetryMinMs?: number;
  throttleRetryMaxMs?: number;
  fetch?: typeof fetch;
}

export const CLIENT_DEFAULTS = {
  maxBudgetWaitMs: 60_000,
  maxRetryWaitMs: 60_000,
  retryBaseMs: 1_000,
  retryMaxDelayMs: 60_000,
} as const;

export function createCatalogClient(options: CatalogClientOptions): CatalogClient {
  return new ItemsBatchClient(options);
}

const JSON_POST = { method: 'POST', headers: { 'content-type': 'application/json' } } as const;

class ItemsBatchClient implements CatalogClient {
  readonly #credentials: GraphCredentials;
  readonly #transport: GraphTransport;
  readonly #retries: GraphRetries;
  readonly #budget: CallBudget;
  readonly #base: string;
  readonly #maxItems: number;
  readonly #maxPayloadBytes: number;

  constructor(o: CatalogClientOptions) {
    if (!o.tokenSource && !o.accessToken) throw new Error('accessToken or tokenSource is required');
    const now = o.now ?? Date.now;
    this.#credentials = new GraphCredentials({
      tokens: o.tokenSource ?? fixedToken(o.accessToken!),
      accessToken: o.accessToken,
      appSecret: o.appSecret,
      logger: o.logger,
    });
    this.#transport = new GraphTransport({
      credentials: this.#credentials,
      requestTimeoutMs: o.requestTimeoutMs,
      fetch: o.fetch ?? globalThis.fetch,
    });
    this.#budget =
      o.budget ??
      new CallBudget({
        hourlyCallBudget: o.hourlyCallBudget,
        now,
        slowdownPct: o.budgetSlowdownPct,
        hardStopPct: o.budgetHardStopPct,
        windowMs: o.budgetWindowMs,
        throttleRetryMinMs: o.throttleRetryMinMs,
        throttleRetryMaxMs: o.throttleRetryMaxMs,
      });
    const throttleRetryMinMs = o.throttleRetryMinMs ?? BUDGET_DEFAULTS.throttleRetryMinMs;
    this.#retries = new GraphRetries({
      policy: {
        maxRetries: o.maxRetries,
        maxBudgetWaitMs: o.maxBudgetWaitMs ?? CLIENT_DEFAULTS.maxBudgetWaitMs,
        maxRetryWaitMs: o.maxRetryWaitMs ?? CLIENT_DEFAULTS.maxRetryWaitMs,
        retryBaseMs: o.retryBaseMs ?? CLIENT_DEFAULTS.retryBaseMs,
        retryMaxDelayMs: o.retryMaxDelayMs ?? CLIENT_DEFAULTS.retryMaxDelayMs,
        throttleRetryMinMs,
        throttleRetryMaxMs: Math.max(
          throttleRetryMinMs,
          o.throttleRetryMaxMs ?? BUDGET_DEFAULTS.throttleRetryMaxMs,
        ),
      },
      catalogId: o.catalogId,
      credentials: this.#credentials,
      budget: this.#budget,
      logger: o.logger,
      sleep: o.sleep ?? sleep,
      now,
      random: o.random ?? Math.random,
    });
    this.#base = `${o.graphUrl.replace(/\/+$/, '')}/${o.apiVersion}/${encodeURIComponent(o.catalogId)}`;
    this.#maxItems = Math.min(o.batchMaxItems, META_MAX_BATCH_ITEMS);
    this.#maxPayloadBytes = o.maxPayloadBytes;
  }

  async refreshCredentials(): Promise<void> {
    await this.#credentials.refresh();
  }

  async probe(options: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.#retries.call(
      'catalog',
      options.signal,
      {},
      (token) =>
        this.#get(
          'catalog',
          `${this.#base}?${probeQuery(this.#credentials.proof(token))}`,
          options.signal,
          token,
        ),
      0, // one read: the caller probes again later
    );
    checkCatalogNode(res.body);
  }

  payloadBytes(items: CatalogItem[]): number {
    return Buffer.byteLength(itemsBatchBody(items, this.#credentials.proof()), 'utf8');
  }

  budgetRemaining(): number {
    return this.#budget.remaining();
  }

  async itemsBatch(
    items: CatalogItem[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ItemsBatchAccepted> {
    checkItemsToSend(items, this.#maxItems);
    const bytes = this.payloadBytes(items);
    checkPayloadBytes(bytes, this.#maxPayloadBytes);
    const res = await this.#retries.call(
      'items_batch',
      options.signal,
      { items: items.length, bytes },
      (token) => this.#post(itemsBatchBody(items, this.#credentials.proof(token)), options.signal, token),
    );
    return parseItemsBatchResponse(res.body);
  }

  async listProducts(options: ListProductsOptions): Promise<ProductsPage> {
    // A read of the catalog's edge: classified and retried as the catalog node's reads are.
    const res = await this.#retries.call('catalog', options.signal, {}, (token) => {
      const q = productsQuery(options, this.#credentials.proof(token));
      return this.#get('catalog', `${this.#base}/products?${q}`, options.signal, token);
    });
    return parseProductsPage(res.body);
  }

  async deleteItems(ids: string[], options: { signal?: AbortSignal } = {}): Promise<ItemsBatchAccepted> {
    checkIdsToDelete(ids, this.#maxItems);
    const items = ids.map((id) => ({ id }));
    const res = await this.#retries.call('items_batch', options.signal, { items: ids.length }, (token) =>
      this.#post(itemsBatchBody(items, this.#credentials.proof(token), 'DELETE'), options.signal, token),
    );
    return parseItemsBatchResponse(res.body);
  }

  async checkBatchStatus(handle: string, options: { signal?: AbortSignal } = {}): Promise<BatchStatus> {
    const endpoint: GraphEndpoint = 'check_batch_request_status';
    const res = await this.#retries.call(endpoint, options.signal, {}, (token) => {
      const q = statusQuery(handle, this.#credentials.proof(token));
      return this.#get(endpoint, `${this.#base}/check_batch_request_status?${q}`, options.signal, token);
    });
    return parseBatchStatus(res.body, handle);
  }

  #get(endpoint: GraphEndpoint, url: string, signal: AbortSignal | undefined, token: string) {
    return this.#transport.send(endpoint, url, { method: 'GET' }, signal, token);
  }

  #post(body: string, signal: AbortSignal | undefined, token: string) {
    return this.#transport.send(
      'items_batch',
      `${this.#base}/items_batch`,
      { ...JSON_POST, body },
      signal,
      token,
    );
  }
}
