import type { IncomingMessage } from 'node:http';
import type { SimContext } from './defaults.ts';
import { catalogNode, checkStatus, itemsBatch, productsRead, productsReply } from './graph-endpoints.ts';
import { gate } from './graph-gate.ts';
import { errorReply, GraphFailure, type Reply } from './graph-reply.ts';
import { ParamError, parseParams, type RawBody } from './params.ts';
import { bearsToken } from './products-edge.ts';
import type { SimCall, SimEndpoint } from './types.ts';

/** Routes one Graph call (path, method, body, parameters) to its endpoint and records what it was in `call`. */
export async function route(
  ctx: SimContext,
  req: IncomingMessage,
  url: URL,
  body: RawBody,
  call: SimCall,
): Promise<Reply> {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments[0] && /^v\d+\.\d+$/.test(segments[0])) segments.shift();
  const [catalogId, edge, ...extra] = segments;
  if (!catalogId || extra.length > 0) {
    return errorReply(ctx, { code: 2500, message: `Unknown path components: ${url.pathname}` }, null, null);
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
    return errorReply(ctx, { code: 2500, message: `Unknown path components: /${edge}` }, catalogId, null);
  }
  const wanted = endpoint === 'items_batch' ? 'POST' : 'GET';
  if (req.method !== wanted) {
    return errorReply(
      ctx,
      {
        code: 100,
        message: `Unsupported ${req.method?.toLowerCase()} request. ${endpoint} takes ${wanted} in the simulator.`,
      },
      catalogId,
      null,
    );
  }
  if (endpoint === 'products' && !bearsToken(req.headers, url))
    return productsReply(ctx, catalogId, url.searchParams.get('format'));
  // With a token, /products is the Graph edge: the catalog node's checks, faults and read budget.
  const checked: SimEndpoint = endpoint === 'products' ? 'catalog' : endpoint;

  if (body.tooLarge) return errorReply(ctx, { code: 1 }, catalogId, checked);
  let params: Record<string, unknown>;
  try {
    const parsed = await parseParams(req, url.searchParams, body, ctx.o.maxBodyBytes);
    params = parsed.params;
    call.encoding = parsed.encoding;
    if (endpoint === 'items_batch') call.itemCount = countRequests(params.requests);
  } catch (err) {
    if (err instanceof ParamError)
      return errorReply(ctx, { code: 100, message: err.message }, catalogId, checked);
    throw err;
  }
  try {
    const { serverError } = gate(ctx, req, params, catalogId, checked);
    if (serverError !== undefined) {
      return {
        status: serverError,
        body: null,
        text: `<html><body><h1>${serverError} Service Unavailable</h1>(simulated)</body></html>`,
        contentType: 'text/html',
      };
    }
    if (endpoint === 'catalog') return catalogNode(ctx, params, catalogId);
    if (endpoint === 'products') return productsRead(ctx, params, catalogId, url);
    return endpoint === 'items_batch'
      ? itemsBatch(ctx, params, catalogId, call)
      : checkStatus(ctx, params, catalogId);
  } catch (err) {
    if (err instanceof GraphFailure) return errorReply(ctx, err.spec, catalogId, checked);
    throw err;
  }
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
