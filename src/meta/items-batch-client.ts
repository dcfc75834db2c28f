import { backoffDelay, sleep } from '../shared/backoff.ts';
import { redact, registerSecret, type Logger } from '../logger.ts';
import { appsecretProof } from './appsecret-proof.ts';
import { BUDGET_DEFAULTS, CallBudget, throttleBackoffMs, type BudgetDecision } from './call-budget.ts';
import {
  classifyGraphError,
  GraphApiError,
  isRetryable,
  type GraphEndpoint,
  type GraphErrorEnvelope,
} from './graph-error.ts';
import { tokenFormatProblem } from './token-format.ts';
import { fixedToken, type TokenSource } from './token-source.ts';
import type {
  BatchIssue,
  BatchStatus,
  CatalogClient,
  CatalogItem,
  ItemsBatchAccepted,
  ListProductsOptions,
  ProductsPage,
} from './types.ts';
import { BUC_HEADER, parseBucUsage } from './usage-header.ts';

/**
 * The Graph API client of the Catalog Batch endpoints (implements CatalogClient of types.ts).
 *
 * - items_batch: `item_type=PRODUCT_ITEM`, `allow_upsert=true`, one `{method: "UPDATE", data}` per item,
 *   sent as a JSON body. More than `batchMaxItems` items (never more than Meta's 5,000) or a body over
 *   `maxPayloadBytes` is refused before any HTTP with kind 'payload-too-large'.
 * - check_batch_request_status with `load_ids_of_invalid_requests=true`.
 * - The token travels only in `Authorization: Bearer`; `appsecret_proof` (an HMAC, not a secret) goes in
 *   the JSON body of POSTs and the query of GETs. Token and app secret are scrubbed from every message.
 * - Throttled and transient failures are retried up to `maxRetries` times with exponential backoff and
 *   jitter, and never sooner than Meta asked (X-Business-Use-Case-Usage ETA, Retry-After). A throttle
 *   that names no wait (ETA 0) is retried after a bounded backoff (throttleRetryMinMs doubling up to
 *   throttleRetryMaxMs), never after "an hour". A wait longer than `maxRetryWaitMs` is not slept through:
 *   the error is thrown with `retryAfterMs` so the caller can keep the work and come back.
 * - Every items_batch call first takes a slot from the per-catalog CallBudget (call-budget.ts); only the
 *   usage header of a successful items_batch call teaches the budget anything.
 * - The token comes from a TokenSource (a fixed token, or Secrets Manager re-read by
 *   `refreshCredentials()`). A token that cannot be valid (empty, whitespace, an invisible or non-ASCII
 *   character) is refused before any HTTP with kind 'auth', like a token Meta rejects.
 * - `probe()` is one GET of the catalog node (`fields=id`): the cheap "does the token work for this
 *   catalog" check a halted worker repeats. It takes no items_batch budget and is not retried.
 */

export const META_MAX_BATCH_ITEMS = 5000;

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

/** Cheapest read that needs both a working token and access to the catalog. */
const PROBE_FIELDS = 'id';

const STATUS_FIELDS =
  'handle,status,errors,errors_total_count,warnings,warnings_total_count,ids_of_invalid_requests';

interface GraphResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export function createCatalogClient(options: CatalogClientOptions): CatalogClient {
  return new ItemsBatchClient(options);
}

class ItemsBatchClient implements CatalogClient {
  private readonly o: CatalogClientOptions;
  private readonly log: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly fetch: typeof fetch;
  private readonly budget: CallBudget;
  private readonly base: string;
  private readonly tokens: TokenSource;
  /** appsecret_proof of the token in force, recomputed when the token changes. */
  private proofFor: { token: string; proof: string | null } | null = null;
  private readonly maxItems: number;
  private readonly maxBudgetWaitMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly throttleRetryMinMs: number;
  private readonly throttleRetryMaxMs: number;

  constructor(options: CatalogClientOptions) {
    if (!options.tokenSource && !options.accessToken) {
      throw new Error('accessToken or tokenSource is required');
    }
    this.o = options;
    this.tokens = options.tokenSource ?? fixedToken(options.accessToken!);
    registerSecret(options.appSecret);
    this.log = options.logger;
    this.sleep = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.budget =
      options.budget ??
      new CallBudget({
        hourlyCallBudget: options.hourlyCallBudget,
        now: this.now,
        slowdownPct: options.budgetSlowdownPct,
        hardStopPct: options.budgetHardStopPct,
        windowMs: options.budgetWindowMs,
        throttleRetryMinMs: options.throttleRetryMinMs,
        throttleRetryMaxMs: options.throttleRetryMaxMs,
      });
    this.base = `${options.graphUrl.replace(/\/+$/, '')}/${options.apiVersion}/${encodeURIComponent(options.catalogId)}`;
    this.maxItems = Math.min(options.batchMaxItems, META_MAX_BATCH_ITEMS);
    this.maxBudgetWaitMs = options.maxBudgetWaitMs ?? CLIENT_DEFAULTS.maxBudgetWaitMs;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? CLIENT_DEFAULTS.maxRetryWaitMs;
    this.retryBaseMs = options.retryBaseMs ?? CLIENT_DEFAULTS.retryBaseMs;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? CLIENT_DEFAULTS.retryMaxDelayMs;
    this.throttleRetryMinMs = options.throttleRetryMinMs ?? BUDGET_DEFAULTS.throttleRetryMinMs;
    this.throttleRetryMaxMs = Math.max(
      this.throttleRetryMinMs,
      options.throttleRetryMaxMs ?? BUDGET_DEFAULTS.throttleRetryMaxMs,
    );
  }

  async refreshCredentials(): Promise<void> {
    await this.tokens.refresh();
  }

  async probe(options: { signal?: AbortSignal } = {}): Promise<void> {
    const endpoint: GraphEndpoint = 'catalog';
    const res = await this.withRetries(
      endpoint,
      options.signal,
      {},
      (token) => {
        const q = new URLSearchParams({ fields: PROBE_FIELDS });
        const proof = this.proof(token);
        if (proof) q.set('appsecret_proof', proof);
        return this.request(endpoint, `${this.base}?${q}`, { method: 'GET' }, options.signal, token);
      },
      0, // one read: the caller probes again later
    );
    const body = res.body as { id?: unknown } | null;
    if (
      typeof body !== 'object' ||
      body === null ||
      (typeof body.id !== 'string' && typeof body.id !== 'number')
    ) {
      throw unexpected(endpoint, 'no "id" in the catalog node');
    }
  }

  payloadBytes(items: CatalogItem[]): number {
    return Buffer.byteLength(this.itemsBatchBody(items), 'utf8');
  }

  budgetRemaining(): number {
    return this.budget.remaining();
  }

  async itemsBatch(
    items: CatalogItem[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ItemsBatchAccepted> {
    const endpoint: GraphEndpoint = 'items_batch';
    if (items.length === 0) {
      throw new GraphApiError({
        kind: 'invalid-parameter',
        endpoint,
        message: 'items_batch: no items to send',
      });
    }
    if (items.length > this.maxItems) {
      throw new GraphApiError({
        kind: 'payload-too-large',
        endpoint,
        message: `items_batch: ${items.length} items is more than the ${this.maxItems} allowed per call; split the batch`,
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
    const bytes = this.payloadBytes(items);
    if (bytes > this.o.maxPayloadBytes) {
      throw new GraphApiError({
        kind: 'payload-too-large',
        endpoint,
        message: `items_batch: body of ${bytes} bytes is over the ${this.o.maxPayloadBytes}-byte limit; split the batch`,
      });
    }
    const res = await this.withRetries(endpoint, options.signal, { items: items.length, bytes }, (token) =>
      this.request(
        endpoint,
        `${this.base}/items_batch`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: this.itemsBatchBody(items, this.proof(token)),
        },
        options.signal,
        token,
      ),
    );
    return parseItemsBatchResponse(res.body);
  }

  async listProducts(options: ListProductsOptions): Promise<ProductsPage> {
    // A read of the catalog's edge: classified and retried as the catalog node's reads are.
    const endpoint: GraphEndpoint = 'catalog';
    const res = await this.withRetries(endpoint, options.signal, {}, (token) => {
      const q = new URLSearchParams({ fields: options.fields.join(','), limit: String(options.limit) });
      if (options.after) q.set('after', options.after);
      if (options.filter) q.set('filter', JSON.stringify(options.filter));
      const proof = this.proof(token);
      if (proof) q.set('appsecret_proof', proof);
      return this.request(endpoint, `${this.base}/products?${q}`, { method: 'GET' }, options.signal, token);
    });
    return parseProductsPage(res.body);
  }

  async deleteItems(ids: string[], options: { signal?: AbortSignal } = {}): Promise<ItemsBatchAccepted> {
    const endpoint: GraphEndpoint = 'items_batch';
    if (ids.length === 0 || ids.length > this.maxItems) {
      throw new GraphApiError({
        kind: ids.length === 0 ? 'invalid-parameter' : 'payload-too-large',
        endpoint,
        message: `items_batch: ${ids.length} deletions; send 1 to ${this.maxItems} per call`,
      });
    }
    const res = await this.withRetries(endpoint, options.signal, { items: ids.length }, (token) =>
      this.request(
        endpoint,
        `${this.base}/items_batch`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: this.itemsBatchBody(
            ids.map((id) => ({ id })),
            this.proof(token),
            'DELETE',
          ),
        },
        options.signal,
        token,
      ),
    );
    return parseItemsBatchResponse(res.body);
  }

  async checkBatchStatus(handle: string, options: { signal?: AbortSignal } = {}): Promise<BatchStatus> {
    const endpoint: GraphEndpoint = 'check_batch_request_status';
    const res = await this.withRetries(endpoint, options.signal, {}, (token) => {
      const q = new URLSearchParams({ handle, load_ids_of_invalid_requests: 'true', fields: STATUS_FIELDS });
      const proof = this.proof(token);
      if (proof) q.set('appsecret_proof', proof);
      return this.request(
        endpoint,
        `${this.base}/check_batch_request_status?${q}`,
        { method: 'GET' },
        options.signal,
        token,
      );
    });
    return parseBatchStatus(res.body, handle);
  }

  /**
   * The body items_batch sends. payloadBytes() measures it with the proof of the token in force; a proof
   * is always 64 hex characters, so a token rotated in between does not change the size.
   */
  private itemsBatchBody(
    items: CatalogItem[],
    proof: string | null = this.proof(this.tokens.current()),
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

  private proof(token: string): string | null {
    if (!this.o.appSecret || token === '') return null;
    if (this.proofFor?.token !== token) {
      this.proofFor = { token, proof: appsecretProof(token, this.o.appSecret) };
    }
    return this.proofFor.proof;
  }

  /**
   * The token in force, or an 'auth' GraphApiError when it cannot be a valid token: sending it would
   * fail in `fetch` (a TypeError for anything above U+00FF) or at Meta, and no retry can fix it.
   */
  private usableToken(endpoint: GraphEndpoint): string {
    const token = this.tokens.current();
    const problem = tokenFormatProblem(token);
    if (problem) {
      const err = new GraphApiError({
        kind: 'auth',
        endpoint,
        message: `${endpoint}: the access token from ${this.tokens.origin} ${problem}; nothing was sent`,
      });
      this.log.warn('graph call not sent: the access token is unusable', {
        endpoint,
        kind: err.kind,
        error: err.message,
      });
      throw err;
    }
    return token;
  }

  /** Removes the token and app secret (and anything shaped like a Graph token) from text. */
  private sanitize(text: string): string {
    let out = text;
    for (const secret of [this.tokens.current(), this.o.accessToken, this.o.appSecret]) {
      if (secret) out = out.split(secret).join('[REDACTED]');
    }
    return redact(out);
  }

  private async withRetries(
    endpoint: GraphEndpoint,
    signal: AbortSignal | undefined,
    what: { items?: number; bytes?: number },
    send: (token: string) => Promise<GraphResponse>,
    maxRetries: number = this.o.maxRetries,
  ): Promise<GraphResponse> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      // Before the budget: a token that cannot work must not use up a slot. Thrown with attempts 0.
      const token = this.usableToken(endpoint);
      if (endpoint === 'items_batch') await this.takeBudgetSlot(signal);
      const started = this.now();
      try {
        const res = await send(token);
        this.log.debug('graph call', {
          endpoint,
          attempt,
          status: res.status,
          ms: this.now() - started,
          ...what,
        });
        return res;
      } catch (caught) {
        if (!(caught instanceof GraphApiError)) throw caught;
        let err = caught.with({ attempts: attempt });
        if (err.kind === 'throttled')
          err = err.with({ retryAfterMs: this.throttleWait(endpoint, attempt, err) });
        const fields = {
          endpoint,
          attempt,
          kind: err.kind,
          code: err.code,
          subcode: err.subcode,
          httpStatus: err.httpStatus,
          fbtraceId: err.fbtraceId,
          ...what,
        };
        if (!isRetryable(err.kind) || attempt > maxRetries) {
          this.log.warn('graph call failed', { ...fields, error: err.message });
          throw err;
        }
        // A throttle's wait is already a backoff (Meta's, or the bounded one): no jitter on top.
        const waitMs =
          err.kind === 'throttled' && err.retryAfterMs !== null
            ? err.retryAfterMs
            : this.retryDelay(attempt, err.retryAfterMs);
        if (waitMs > this.maxRetryWaitMs) {
          this.log.warn('graph call failed; the wait Meta asks for is too long to hold the call', {
            ...fields,
            waitMs,
            error: err.message,
          });
          throw err.with({ retryAfterMs: waitMs });
        }
        this.log.warn('graph call failed; retrying', { ...fields, waitMs, error: err.message });
        await this.sleep(waitMs, signal);
      }
    }
  }

  /**
   * How long a throttle keeps us off. Meta's own wait when it named one; otherwise the bounded backoff
   * (throttleRetryMinMs doubling to throttleRetryMaxMs): for items_batch the budget keeps that count
   * across calls and blocks the next call until then, for reads it goes by the attempt.
   */
  private throttleWait(endpoint: GraphEndpoint, attempt: number, err: GraphApiError): number {
    if (endpoint === 'items_batch') return this.budget.refused(err.retryAfterMs);
    return err.retryAfterMs ?? throttleBackoffMs(attempt, this.throttleRetryMinMs, this.throttleRetryMaxMs);
  }

  /** Exponential backoff with equal jitter, and never less than what Meta asked for. */
  private retryDelay(attempt: number, askedMs: number | null): number {
    return backoffDelay(
      attempt,
      { initialMs: this.retryBaseMs, maxMs: this.retryMaxDelayMs },
      askedMs,
      this.random,
    );
  }

  private async takeBudgetSlot(signal: AbortSignal | undefined): Promise<void> {
    const describe = (d: BudgetDecision) => ({
      catalogId: this.o.catalogId,
      waitMs: d.waitMs,
      reason: d.reason,
      remaining: d.remaining,
      usagePct: Math.round(d.usagePct),
      capacity: Math.round(d.capacity),
    });
    await this.budget.acquire({
      maxWaitMs: this.maxBudgetWaitMs,
      sleep: (ms) => this.sleep(ms, signal),
      onWait: (d) => this.log.info('items_batch budget: waiting before the next call', describe(d)),
      onTooLong: (d) => {
        this.log.warn('items_batch budget exhausted for now', describe(d));
        return new GraphApiError({
          kind: 'budget-exhausted',
          endpoint: 'items_batch',
          retryAfterMs: d.waitMs,
          message: `items_batch: call budget of catalog ${this.o.catalogId} needs a ${Math.ceil(d.waitMs / 1000)} s wait (${d.reason}); come back later`,
        });
      },
    });
  }

  private async request(
    endpoint: GraphEndpoint,
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    token: string,
  ): Promise<GraphResponse> {
    const timeout = AbortSignal.timeout(this.o.requestTimeoutMs);
    const headers = new Headers(init.headers);
    try {
      headers.set('authorization', `Bearer ${token}`);
    } catch (err) {
      // Headers take Latin-1 only. usableToken() stops such tokens first; this is the last guard, so a
      // TypeError never reaches the worker as if it were a network failure.
      throw new GraphApiError({
        kind: 'auth',
        endpoint,
        message: this.sanitize(
          `${endpoint}: the access token from ${this.tokens.origin} cannot be sent in an HTTP header (${(err as Error).message})`,
        ),
      });
    }
    headers.set('accept', 'application/json');
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(url, {
        ...init,
        headers,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw new GraphApiError({
          kind: 'transient',
          endpoint,
          message: `${endpoint}: no response within ${this.o.requestTimeoutMs} ms`,
        });
      }
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new GraphApiError({
        kind: 'transient',
        endpoint,
        message: this.sanitize(`${endpoint}: network error (${why})`),
      });
    }
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = null; // an HTML error page from a proxy, say
    }
    const usage = parseBucUsage(res.headers.get(BUC_HEADER));
    const envelope =
      typeof body === 'object' && body !== null && 'error' in body
        ? ((body as { error: unknown }).error as GraphErrorEnvelope)
        : null;
    if (res.ok && !envelope) {
      // Only a success's header is usage; a refusal's reads 100 % (see CallBudget.refused).
      if (endpoint === 'items_batch') this.budget.observe(usage);
      return { status: res.status, headers: res.headers, body };
    }

    const code = typeof envelope?.code === 'number' ? envelope.code : null;
    const subcode = typeof envelope?.error_subcode === 'number' ? envelope.error_subcode : null;
    const kind = classifyGraphError({
      endpoint,
      code,
      subcode,
      httpStatus: res.status,
      isTransient: envelope?.is_transient,
      message: typeof envelope?.message === 'string' ? envelope.message : null,
    });
    let retryAfterMs: number | null = null;
    if (kind === 'throttled' || kind === 'transient') {
      const fromUsage = (usage?.etaMinutes ?? 0) * 60_000;
      const header = Number(res.headers.get('retry-after'));
      const fromRetryAfter = Number.isFinite(header) && header > 0 ? header * 1000 : 0;
      const asked = Math.max(fromUsage, fromRetryAfter);
      retryAfterMs = asked > 0 ? asked : null;
    }
    const metaMessage = envelope
      ? [envelope.message, envelope.error_user_msg]
          .filter((m) => typeof m === 'string' && m !== '')
          .join(' — ')
      : `HTTP ${res.status} without a Graph error body`;
    const codeText =
      code === null ? '' : ` ${code}${envelope?.error_subcode ? `/${envelope.error_subcode}` : ''}`;
    throw new GraphApiError({
      kind,
      endpoint,
      code,
      subcode,
      httpStatus: res.status,
      retryAfterMs,
      fbtraceId: typeof envelope?.fbtrace_id === 'string' ? envelope.fbtrace_id : null,
      type: typeof envelope?.type === 'string' ? envelope.type : null,
      isTransient: typeof envelope?.is_transient === 'boolean' ? envelope.is_transient : null,
      message: this.sanitize(
        `${endpoint}: Meta error${codeText} (${kind}, HTTP ${res.status}): ${metaMessage}`,
      ),
    });
  }
}

function unexpected(endpoint: GraphEndpoint, what: string): GraphApiError {
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
    throw unexpected('items_batch', 'no "handles" array');
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
  if (!Array.isArray(b.data)) throw unexpected('catalog', 'no "data" array in the products page');
  const items = b.data.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  const after = b.paging?.cursors?.after;
  const more = typeof b.paging?.next === 'string' && b.paging.next !== '';
  return { items, after: more && typeof after === 'string' && after !== '' ? after : null };
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
  if (typeof node !== 'object' || node === null) throw unexpected('check_batch_request_status', 'no data[0]');
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
