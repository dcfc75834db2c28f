import type { IncomingMessage } from 'node:http';
import { verifyAppsecretProof } from '../../src/meta/appsecret-proof.ts';
import { isThrottleCode } from '../../src/meta/graph-error.ts';
import type { SimContext } from './defaults.ts';
import { GraphFailure, usageHeader } from './graph-reply.ts';
import type { InjectedError, SimEndpoint } from './types.ts';

/** Token, proof, catalog and the faults every Graph call goes through. Throws GraphFailure. */
export function gate(
  ctx: SimContext,
  req: IncomingMessage,
  params: Record<string, unknown>,
  catalogId: string,
  endpoint: SimEndpoint,
): { serverError?: number } {
  const { options, faults } = ctx;
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
export function spend(ctx: SimContext, catalogId: string, endpoint: SimEndpoint): Record<string, string> {
  const { o, state } = ctx;
  const at = ctx.now();
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
  return usageHeader(ctx, catalogId, type, used, budget, 0);
}
