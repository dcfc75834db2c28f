import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../src/logger.ts';
import { verifyAppsecretProof } from '../../src/meta/appsecret-proof.ts';
import { isThrottleCode } from '../../src/meta/graph-error.ts';
import { formatBucUsage } from '../../src/meta/usage-header.ts';
import { CatalogState, type Row } from './catalog.ts';
import { FaultBox, FaultError } from './faults.ts';
import { htmlPage, wantsHtml, type BatchRow, type PageData } from './html.ts';
import { boolParam, ParamError, parseParams, readBody, type RawBody } from './params.ts';
import { adminProducts, ADMIN_PRODUCT_ROUTES } from './admin-products.ts';
import { bearsToken, graphProducts } from './products-edge.ts';
import type {
  InjectedError,
  SimCall,
  SimEndpoint,
  SimHistoryEntry,
  Simulator,
  SimulatorFaults,
  SimulatorOptions,
  StoredProduct,
} from './types.ts';
import { checkRecord, ITEM_TYPES, RecordError, type RowCheck } from './validate.ts';

export type * from './types.ts';
export { validateFaults, FaultError } from './faults.ts';

/**
 * A local stand-in for Meta's Catalog Batch API, served over real HTTP:
 *
 *   POST /{version}/{catalog_id}/items_batch                 (version optional, as at Meta)
 *   GET  /{version}/{catalog_id}/check_batch_request_status
 *   GET  /{version}/{catalog_id}[?fields=id,name,product_count]   the catalog node (a token check)
 *   GET  /{version}/{catalog_id}/products[?format=table]     what the catalog holds (no token: everything)
 *   GET  /{version}/{catalog_id}/products?fields=&limit=&after=&filter=   with a token: the Graph edge,
 *        cursor paging, read budget (products-edge.ts)
 *   PATCH|DELETE /_admin/products/{catalog_id}/{retailer_id} · POST /_admin/products/{catalog_id}
 *        out-of-band edits, as in Commerce Manager (admin-products.ts)
 *   (a browser gets pages for people at /products, /_admin/calls and /_admin/batches: html.ts)
 *   GET  /_admin/faults · POST (replace) · PATCH (merge)    faults at run time
 *   GET  /_admin/calls[?endpoint=&catalog=&since=]          every Graph call received
 *   GET  /_admin/batches · POST /_admin/reset
 *   GET  /_admin/history[?catalog=&id=&since=]              every application of an item, in order
 *
 * Order of checks on a Graph call: body size (code 1) → parameters readable → token (104/190) →
 * appsecret_proof (100) → catalog exists → faults (invalid token, 5xx, code 2, injected errors, forced
 * throttle) → the hourly budget (80014 / 80009) → parameter validation (100) → the batch.
 */

export const SIMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  processingDelayMs: 1000,
  hourlyCallBudget: 200,
  statusReadBudget: 20_000,
  errorSampleSize: 20,
  maxBodyBytes: 28_000_000,
  maxRequests: 5000,
  budgetWindowMs: 3_600_000,
  lineBase: 0,
  titleMaxLength: 150,
  descriptionMaxLength: 5000,
  batchBucType: 'catalog_batch',
  statusBucType: 'catalog_management',
  callLogLimit: 10_000,
} as const;

const DEFAULT_MESSAGES: Record<number, string> = {
  1: "Please reduce the amount of data you're asking for, then retry your request",
  2: 'An unexpected error has occurred. Please retry your request later.',
  4: '(#4) Application request limit reached',
  10: '(#10) Application does not have permission for this action',
  17: '(#17) User request limit reached',
  32: '(#32) Page request limit reached',
  100: '(#100) Invalid parameter',
  102: 'Session key invalid or no longer valid',
  104: 'An access token is required to request this resource.',
  190: 'Error validating access token: Session has expired.',
  200: '(#200) Permissions error',
  341: '(#341) Application limit reached',
  613: '(#613) Calls to this api have exceeded the rate limit.',
  80009:
    '(#80009) There have been too many calls to this Catalog account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
  80014:
    '(#80014) There have been too many calls for the batch uploads to this catalog account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#catalog.',
};

interface GraphErrorSpec {
  code: number;
  subcode?: number;
  message?: string;
  type?: string;
  httpStatus?: number;
  isTransient?: boolean;
  /** Adds X-Business-Use-Case-Usage at 100 % with this ETA. */
  etaMinutes?: number;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Plain text or HTML instead of JSON. */
  text?: string;
  contentType?: string;
  errorCode?: number;
  errorSubcode?: number;
  handle?: string;
}

class GraphFailure extends Error {
  readonly spec: GraphErrorSpec;
  constructor(spec: GraphErrorSpec) {
    super(spec.message ?? DEFAULT_MESSAGES[spec.code] ?? `(#${spec.code}) Simulated error`);
    this.spec = spec;
  }
}

const fbtrace = (): string => randomBytes(8).toString('base64url');

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  if (!options.accessToken) throw new Error('startSimulator: accessToken (the token to accept) is required');
  const o = { ...SIMULATOR_DEFAULTS, ...stripUndefined(options) };
  const log: Logger = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const state = new CatalogState();
  const startupFaults = options.faults ?? {};
  const faults = new FaultBox(startupFaults);
  let calls: SimCall[] = [];
  let seq = 0;

  const statusFor = (code: number): number =>
    options.errorHttpStatus?.[code] ?? (code === 1 ? 500 : code === 2 ? 503 : 400);

  const usageHeader = (
    catalogId: string,
    type: string,
    count: number,
    budget: number,
    etaMinutes: number,
  ) => ({
    'x-business-use-case-usage': formatBucUsage(options.businessId ?? catalogId, type, {
      callCount: Math.min(100, Math.ceil((count * 100) / budget)),
      totalCputime: Math.min(100, Math.ceil((count * 50) / budget)),
      totalTime: Math.min(100, Math.ceil((count * 50) / budget)),
      etaMinutes,
    }),
  });

  function errorReply(spec: GraphErrorSpec, catalogId: string | null, endpoint: SimEndpoint | null): Reply {
    const type =
      spec.type ??
      (spec.code === 100
        ? 'GraphMethodException'
        : spec.code <= 2
          ? 'FacebookApiException'
          : 'OAuthException');
    const error: Record<string, unknown> = {
      message: spec.message ?? DEFAULT_MESSAGES[spec.code] ?? `(#${spec.code}) Simulated error`,
      type,
      code: spec.code,
    };
    if (spec.subcode !== undefined) error.error_subcode = spec.subcode;
    error.is_transient = spec.isTransient ?? (spec.code === 2 || isThrottleCode(spec.code));
    error.fbtrace_id = fbtrace();
    const headers: Record<string, string> = {};
    if (spec.etaMinutes !== undefined && catalogId !== null) {
      const status = endpoint !== 'items_batch'; // reads share the Catalog Management bucket
      const budget = status ? o.statusReadBudget : o.hourlyCallBudget;
      Object.assign(
        headers,
        usageHeader(catalogId, status ? o.statusBucType : o.batchBucType, budget, budget, spec.etaMinutes),
      );
    }
    return {
      status: spec.httpStatus ?? statusFor(spec.code),
      body: { error },
      headers,
      errorCode: spec.code,
      errorSubcode: spec.subcode,
    };
  }

  // ---- Graph endpoints -------------------------------------------------------------------------------

  /** Token, proof, catalog and the faults every Graph call goes through. Throws GraphFailure. */
  function gate(
    req: IncomingMessage,
    params: Record<string, unknown>,
    catalogId: string,
    endpoint: SimEndpoint,
  ): { serverError?: number } {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const token = bearer ?? (typeof params.access_token === 'string' ? params.access_token : undefined);
    if (!token) throw new GraphFailure({ code: 104 });
    if (token !== options.accessToken) {
      // Meta echoes a malformed token in its message; clients must scrub it.
      throw new GraphFailure({ code: 190, message: `Malformed access token ${token}` });
    }
    if (options.appSecret) {
      const proof = params.appsecret_proof;
      if (typeof proof !== 'string' || proof === '') {
        throw new GraphFailure({
          code: 100,
          message: 'API calls from the server require an appsecret_proof argument',
        });
      }
      if (!verifyAppsecretProof(proof, token, options.appSecret)) {
        throw new GraphFailure({
          code: 100,
          message: 'Invalid appsecret_proof provided in the API argument',
        });
      }
    }
    if (options.catalogIds && !options.catalogIds.includes(catalogId)) {
      throw new GraphFailure({
        code: 100,
        subcode: 33,
        message: `Unsupported ${req.method === 'GET' ? 'get' : 'post'} request. Object with ID '${catalogId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      });
    }
    const invalid = faults.invalidToken();
    if (invalid) {
      throw new GraphFailure({
        code: 190,
        subcode: invalid.subcode,
        message: `Error validating access token: the session is no longer valid (simulated; token ${token})`,
      });
    }
    const serverError = faults.serverError();
    if (serverError !== null) return { serverError };
    if (faults.code2()) throw new GraphFailure({ code: 2, isTransient: true });
    const injected: InjectedError | null = faults.injected(endpoint);
    if (injected) {
      throw new GraphFailure({
        code: injected.code,
        subcode: injected.subcode,
        message: injected.message,
        type: injected.type,
        httpStatus: injected.httpStatus,
        isTransient: injected.isTransient,
        etaMinutes: isThrottleCode(injected.code) ? (injected.etaMinutes ?? 1) : undefined,
      });
    }
    const forced = faults.throttle(endpoint);
    if (forced) {
      throw new GraphFailure({
        code: endpoint === 'items_batch' ? 80014 : 80009,
        etaMinutes: forced.etaMinutes,
      });
    }
    return {};
  }

  /** Counts the call against its rolling hour, or refuses it with the usage header and an ETA. */
  function spend(catalogId: string, endpoint: SimEndpoint): Record<string, string> {
    const at = now();
    const status = endpoint !== 'items_batch'; // reads share the Catalog Management bucket
    const key = `${status ? 'status' : 'batch'}:${catalogId}`;
    const budget = status ? o.statusReadBudget : o.hourlyCallBudget;
    const type = status ? o.statusBucType : o.batchBucType;
    const window = state.windowCalls(key, at, o.budgetWindowMs);
    if (window.length >= budget) {
      const freesAt = window[window.length - budget]! + o.budgetWindowMs;
      const etaMinutes = Math.max(1, Math.ceil((freesAt - at) / 60_000));
      throw new GraphFailure({ code: status ? 80009 : 80014, etaMinutes });
    }
    const used = window.length + 1;
    state.recordCall(key, at);
    return usageHeader(catalogId, type, used, budget, 0);
  }

  function itemsBatch(params: Record<string, unknown>, catalogId: string, call: SimCall): Reply {
    const usage = spend(catalogId, 'items_batch');
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

  function checkStatus(params: Record<string, unknown>, catalogId: string): Reply {
    const usage = spend(catalogId, 'check_batch_request_status');
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
  function catalogNode(params: Record<string, unknown>, catalogId: string): Reply {
    const usage = spend(catalogId, 'catalog');
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
  function productsRead(params: Record<string, unknown>, catalogId: string, url: URL): Reply {
    const usage = spend(catalogId, 'catalog');
    state.processDue(now());
    const answer = graphProducts(state.listGraph(catalogId), params, url);
    if (!answer.ok) throw new GraphFailure({ code: 100, message: answer.message });
    return { status: 200, body: answer.body, headers: usage };
  }

  function productsReply(catalogId: string, format: string | null): Reply {
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

  // ---- admin ----------------------------------------------------------------------------------------

  function batchList(): BatchRow[] {
    const at = now();
    state.processDue(at);
    return state.allBatches().map((b) => {
      const v = state.view(b, at, o.lineBase);
      return {
        handle: b.handle,
        catalog_id: b.catalogId,
        submitted_at: new Date(b.submittedAt).toISOString(),
        due_at: new Date(b.dueAt).toISOString(),
        status: v.status,
        items: b.rows.length,
        errors_total_count: v.errors.length,
      };
    });
  }

  /** What the pages for people show (html.ts). */
  const pageData: PageData = {
    products: (catalogId) => {
      state.processDue(now());
      return state.listGraph(catalogId);
    },
    history: (catalogId) => state.history(catalogId),
    batches: batchList,
    calls: () => calls,
    faults: () => faults.get(),
  };

  async function admin(req: IncomingMessage, url: URL, body: RawBody): Promise<Reply> {
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    const readJson = (): unknown => {
      const text = body.buf.toString('utf8').trim();
      return text === '' ? {} : JSON.parse(text);
    };
    try {
      switch (route) {
        case 'GET /_admin':
          return {
            status: 200,
            body: {
              graph: [
                'POST /{version}/{catalog_id}/items_batch',
                'GET /{version}/{catalog_id}/check_batch_request_status',
                'GET /{version}/{catalog_id}[?fields=id,name,product_count]',
              ],
              products: 'GET /{version}/{catalog_id}/products[?format=table]',
              admin: [
                'GET /_admin/faults',
                'POST /_admin/faults (replace)',
                'PATCH /_admin/faults (merge)',
                'GET /_admin/calls[?endpoint=&catalog=&since=]',
                'GET /_admin/batches',
                'GET /_admin/history[?catalog=&id=&since=]',
                'POST /_admin/reset',
                ...ADMIN_PRODUCT_ROUTES,
              ],
            },
          };
        case 'GET /_admin/faults':
          return { status: 200, body: faults.get() };
        case 'POST /_admin/faults':
        case 'PUT /_admin/faults':
          faults.set(readJson());
          log.info('simulator faults replaced', { faults: faults.get() });
          return { status: 200, body: faults.get() };
        case 'PATCH /_admin/faults':
          faults.set({ ...faults.get(), ...(readJson() as SimulatorFaults) });
          log.info('simulator faults changed', { faults: faults.get() });
          return { status: 200, body: faults.get() };
        case 'GET /_admin/calls': {
          const endpoint = url.searchParams.get('endpoint');
          const catalog = url.searchParams.get('catalog');
          const since = Number(url.searchParams.get('since') ?? 0);
          const list = calls.filter(
            (c) =>
              (!endpoint || c.endpoint === endpoint) &&
              (!catalog || c.catalogId === catalog) &&
              c.seq > since,
          );
          return { status: 200, body: { calls: list } };
        }
        case 'GET /_admin/batches':
          return { status: 200, body: { batches: batchList() } };
        case 'GET /_admin/history': {
          state.processDue(now());
          const history = state.history(
            url.searchParams.get('catalog') || null,
            url.searchParams.get('id') || null,
            Number(url.searchParams.get('since') ?? 0),
          );
          return { status: 200, body: { history } };
        }
        case 'POST /_admin/reset':
          reset();
          return { status: 200, body: { reset: true } };
        default:
          return (
            adminProducts({ state, now, limits: o }, req.method ?? 'GET', url.pathname, readJson) ?? {
              status: 404,
              body: { error: `no admin route ${route}; GET /_admin lists them` },
            }
          );
      }
    } catch (err) {
      if (err instanceof FaultError || err instanceof SyntaxError)
        return { status: 400, body: { error: err.message } };
      throw err;
    }
  }

  function reset(): void {
    state.reset();
    calls = [];
    faults.set(startupFaults);
  }

  // ---- HTTP ------------------------------------------------------------------------------------------

  async function route(req: IncomingMessage, url: URL, body: RawBody, call: SimCall): Promise<Reply> {
    const segments = url.pathname.split('/').filter(Boolean);
    if (segments[0] && /^v\d+\.\d+$/.test(segments[0])) segments.shift();
    const [catalogId, edge, ...extra] = segments;
    if (!catalogId || extra.length > 0) {
      return errorReply({ code: 2500, message: `Unknown path components: ${url.pathname}` }, null, null);
    }
    call.catalogId = catalogId;
    const endpoint: SimEndpoint | 'products' | 'other' =
      edge === undefined
        ? 'catalog'
        : edge === 'items_batch' || edge === 'check_batch_request_status' || edge === 'products'
          ? edge
          : 'other';
    call.endpoint = endpoint;
    if (endpoint === 'other') {
      return errorReply({ code: 2500, message: `Unknown path components: /${edge}` }, catalogId, null);
    }
    const wanted = endpoint === 'items_batch' ? 'POST' : 'GET';
    if (req.method !== wanted) {
      return errorReply(
        {
          code: 100,
          message: `Unsupported ${req.method?.toLowerCase()} request. ${endpoint} takes ${wanted} in the simulator.`,
        },
        catalogId,
        null,
      );
    }
    if (endpoint === 'products' && !bearsToken(req.headers, url))
      return productsReply(catalogId, url.searchParams.get('format'));
    // With a token, /products is the Graph edge: the catalog node's checks, faults and read budget.
    const checked: SimEndpoint = endpoint === 'products' ? 'catalog' : endpoint;

    if (body.tooLarge) return errorReply({ code: 1 }, catalogId, checked);
    let params: Record<string, unknown>;
    try {
      const parsed = await parseParams(req, url.searchParams, body, o.maxBodyBytes);
      params = parsed.params;
      call.encoding = parsed.encoding;
      if (endpoint === 'items_batch') call.itemCount = countRequests(params.requests);
    } catch (err) {
      if (err instanceof ParamError)
        return errorReply({ code: 100, message: err.message }, catalogId, checked);
      throw err;
    }
    try {
      const { serverError } = gate(req, params, catalogId, checked);
      if (serverError !== undefined) {
        return {
          status: serverError,
          body: null,
          text: `<html><body><h1>${serverError} Service Unavailable</h1>(simulated)</body></html>`,
          contentType: 'text/html',
        };
      }
      if (endpoint === 'catalog') return catalogNode(params, catalogId);
      if (endpoint === 'products') return productsRead(params, catalogId, url);
      return endpoint === 'items_batch'
        ? itemsBatch(params, catalogId, call)
        : checkStatus(params, catalogId);
    } catch (err) {
      if (err instanceof GraphFailure) return errorReply(err.spec, catalogId, checked);
      throw err;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const isAdmin = url.pathname === '/_admin' || url.pathname.startsWith('/_admin/');
    const body = await readBody(req, o.maxBodyBytes);
    // A browser asking for text/html gets a page (html.ts); everyone else gets JSON as before.
    const page = req.method === 'GET' && wantsHtml(req, url) ? htmlPage(url, pageData) : null;
    if (page) {
      res.writeHead(page.status, page.headers);
      res.end(page.html);
      return;
    }
    let reply: Reply;
    if (isAdmin) {
      reply = await admin(req, url, body);
    } else {
      const at = now();
      const call: SimCall = {
        seq: ++seq,
        at,
        time: new Date(at).toISOString(),
        method: req.method ?? 'GET',
        path: url.pathname,
        endpoint: 'other',
        catalogId: null,
        encoding: body.bytes > 0 ? 'other' : url.search ? 'query' : 'none',
        itemCount: null,
        bytes: body.bytes,
        httpStatus: null,
        outcome: 'pending',
        errorCode: null,
        errorSubcode: null,
        handle: null,
        durationMs: null,
      };
      calls.push(call);
      if (calls.length > o.callLogLimit) calls.splice(0, calls.length - o.callLogLimit);
      try {
        reply = await route(req, url, body, call);
      } catch (err) {
        log.error('simulator: internal error', { error: (err as Error).message, path: url.pathname });
        reply = errorReply(
          { code: 1, message: `Simulator internal error: ${(err as Error).message}` },
          null,
          null,
        );
      }
      const latency =
        call.endpoint === 'items_batch' ||
        call.endpoint === 'check_batch_request_status' ||
        call.endpoint === 'catalog'
          ? faults.latencyMs()
          : 0;
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      call.httpStatus = reply.status;
      call.outcome = reply.status < 400 ? 'ok' : 'error';
      call.errorCode = reply.errorCode ?? null;
      call.errorSubcode = reply.errorSubcode ?? null;
      call.handle = reply.handle ?? null;
      call.durationMs = Date.now() - started;
      log.debug('simulator call', {
        method: call.method,
        path: call.path,
        encoding: call.encoding,
        items: call.itemCount,
        bytes: call.bytes,
        status: call.httpStatus,
        errorCode: call.errorCode,
      });
    }
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...reply.headers, 'x-fb-trace-id': fbtrace() };
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType ?? 'text/plain' });
      res.end(reply.text);
    } else {
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=UTF-8' });
      res.end(
        JSON.stringify(reply.body, null, isAdmin || url.pathname.endsWith('/products') ? 2 : undefined),
      );
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('simulator: request failed', { error: (err as Error).message });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('simulator error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.debug('simulator listening', { url });

  return {
    url,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    setFaults: (f: SimulatorFaults) => faults.set(f),
    faults: () => faults.get(),
    calls: () => calls.map((c) => ({ ...c })),
    history: (catalogId: string, id?: string): SimHistoryEntry[] => {
      state.processDue(now());
      return state.history(catalogId, id ?? null);
    },
    products: (catalogId: string): StoredProduct[] => {
      state.processDue(now());
      return state.list(catalogId);
    },
    reset,
  };
}

/** Records in `requests` for the call log, before any validation; null when unreadable. */
function countRequests(requests: unknown): number | null {
  if (Array.isArray(requests)) return requests.length;
  if (typeof requests !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(requests);
    return Array.isArray(parsed) ? parsed.length : null;
  } catch {
    return null;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
