import { randomBytes } from 'node:crypto';
import { isThrottleCode } from '../../src/meta/graph-error.ts';
import { formatBucUsage } from '../../src/meta/usage-header.ts';
import type { SimContext } from './defaults.ts';
import type { SimEndpoint } from './types.ts';

/** Graph error envelopes and the usage header, as Meta shapes them. */

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

export interface GraphErrorSpec {
  code: number;
  subcode?: number;
  message?: string;
  type?: string;
  httpStatus?: number;
  isTransient?: boolean;
  /** Adds X-Business-Use-Case-Usage at 100 % with this ETA. */
  etaMinutes?: number;
}

export interface Reply {
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

/** Thrown by the Graph handlers; the router turns it into an error reply. */
export class GraphFailure extends Error {
  readonly spec: GraphErrorSpec;
  constructor(spec: GraphErrorSpec) {
    super(spec.message ?? DEFAULT_MESSAGES[spec.code] ?? `(#${spec.code}) Simulated error`);
    this.spec = spec;
  }
}

export const fbtrace = (): string => randomBytes(8).toString('base64url');

/** X-Business-Use-Case-Usage for `count` calls out of `budget`. */
export function usageHeader(
  ctx: SimContext,
  catalogId: string,
  type: string,
  count: number,
  budget: number,
  etaMinutes: number,
): Record<string, string> {
  return {
    'x-business-use-case-usage': formatBucUsage(ctx.options.businessId ?? catalogId, type, {
      callCount: Math.min(100, Math.ceil((count * 100) / budget)),
      totalCputime: Math.min(100, Math.ceil((count * 50) / budget)),
      totalTime: Math.min(100, Math.ceil((count * 50) / budget)),
      etaMinutes,
    }),
  };
}

export function errorReply(
  ctx: SimContext,
  spec: GraphErrorSpec,
  catalogId: string | null,
  endpoint: SimEndpoint | null,
): Reply {
  const { o, options } = ctx;
  const statusFor = (code: number): number =>
    options.errorHttpStatus?.[code] ?? (code === 1 ? 500 : code === 2 ? 503 : 400);
  const type =
    spec.type ??
    (spec.code === 100 ? 'GraphMethodException' : spec.code <= 2 ? 'FacebookApiException' : 'OAuthException');
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
      usageHeader(ctx, catalogId, status ? o.statusBucType : o.batchBucType, budget, budget, spec.etaMinutes),
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
