import type { IncomingMessage } from 'node:http';
import { adminProducts, ADMIN_PRODUCT_ROUTES } from './admin-products.ts';
import type { SimContext } from './defaults.ts';
import { FaultError } from './faults.ts';
import type { Reply } from './graph-reply.ts';
import type { BatchRow } from './html.ts';
import type { RawBody } from './params.ts';
import type { SimCall, SimulatorFaults } from './types.ts';

/** The call log and reset the admin routes act on; they belong to the running simulator (index.ts). */
export interface AdminHooks {
  calls(): SimCall[];
  reset(): void;
}

/** Every batch with its current status, for GET /_admin/batches and the batches page. */
export function batchList(ctx: SimContext): BatchRow[] {
  const { o, state, now } = ctx;
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

/** The /_admin routes: faults, the call log, batches, history, reset and out-of-band product edits. */
export async function admin(
  ctx: SimContext,
  hooks: AdminHooks,
  req: IncomingMessage,
  url: URL,
  body: RawBody,
): Promise<Reply> {
  const { o, state, faults, now, log } = ctx;
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
        const list = hooks
          .calls()
          .filter(
            (c) =>
              (!endpoint || c.endpoint === endpoint) &&
              (!catalog || c.catalogId === catalog) &&
              c.seq > since,
          );
        return { status: 200, body: { calls: list } };
      }
      case 'GET /_admin/batches':
        return { status: 200, body: { batches: batchList(ctx) } };
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
        hooks.reset();
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
