import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/logger.ts';
import { admin, batchList } from './admin-routes.ts';
import { CatalogState } from './catalog.ts';
import { resolveOptions, type SimContext } from './defaults.ts';
import { FaultBox } from './faults.ts';
import { errorReply, fbtrace, type Reply } from './graph-reply.ts';
import { route } from './graph-route.ts';
import { htmlPage, wantsHtml, type PageData } from './html.ts';
import { readBody } from './params.ts';
import type {
  SimCall,
  SimHistoryEntry,
  Simulator,
  SimulatorFaults,
  SimulatorOptions,
  StoredProduct,
} from './types.ts';

export type * from './types.ts';
export { validateFaults, FaultError } from './faults.ts';
export { SIMULATOR_DEFAULTS } from './defaults.ts';

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
 * The parts: graph-route.ts routes a Graph call, graph-gate.ts checks it and counts it against the budget,
 * graph-endpoints.ts answers it, graph-reply.ts shapes errors; admin-routes.ts serves /_admin. This file
 * holds the running server: the shared state, the call log and the HTTP plumbing.
 *
 * Order of checks on a Graph call: body size (code 1) → parameters readable → token (104/190) →
 * appsecret_proof (100) → catalog exists → faults (invalid token, 5xx, code 2, injected errors, forced
 * throttle) → the hourly budget (80014 / 80009) → parameter validation (100) → the batch.
 */

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  if (!options.accessToken) throw new Error('startSimulator: accessToken (the token to accept) is required');
  const o = resolveOptions(options);
  const log = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const state = new CatalogState();
  const startupFaults = options.faults ?? {};
  const faults = new FaultBox(startupFaults);
  const ctx: SimContext = { options, o, state, faults, now, log };
  let calls: SimCall[] = [];
  let seq = 0;

  /** What the pages for people show (html.ts). */
  const pageData: PageData = {
    products: (catalogId) => {
      state.processDue(now());
      return state.listGraph(catalogId);
    },
    history: (catalogId) => state.history(catalogId),
    batches: () => batchList(ctx),
    calls: () => calls,
    faults: () => faults.get(),
  };

  function reset(): void {
    state.reset();
    calls = [];
    faults.set(startupFaults);
  }
  const hooks = { calls: () => calls, reset };

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
      reply = await admin(ctx, hooks, req, url, body);
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
        reply = await route(ctx, req, url, body, call);
      } catch (err) {
        log.error('simulator: internal error', { error: (err as Error).message, path: url.pathname });
        reply = errorReply(
          ctx,
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
