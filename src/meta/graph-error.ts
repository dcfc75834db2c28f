import type { GraphErrorKind } from './types.ts';

/**
 * Graph API failures as typed values. `kind` is what callers branch on; `code`/`subcode` are Meta's.
 * Classification goes by Meta's error code first and falls back to the HTTP status only when the body
 * carried no Graph error envelope (a proxy's 502, a timeout), because Meta's HTTP statuses per code are
 * not documented (open question 2 in src/meta/README.md: code 100 has been seen under HTTP 500).
 */

/** `catalog` is the node read `GET /{catalog_id}?fields=id` behind `CatalogClient.probe()`. */
export type GraphEndpoint = 'items_batch' | 'check_batch_request_status' | 'catalog';

/** Meta's envelope: {"error": {...}}; every field but `message`/`code` may be absent. */
export interface GraphErrorEnvelope {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_user_title?: string;
  error_user_msg?: string;
  is_transient?: boolean;
  fbtrace_id?: string;
  error_data?: unknown;
}

/** Throttling codes: app/user/page/custom limits, application limit, and the Business Use Case family. */
export const THROTTLE_CODES: ReadonlySet<number> = new Set([4, 17, 32, 341, 613]);
export function isThrottleCode(code: number): boolean {
  return THROTTLE_CODES.has(code) || (code >= 80000 && code <= 80014);
}
/** Token problems: 102 session, 104 token missing, 190 invalid/expired (subcodes 458, 460, 463, 464, 467 …). */
export const AUTH_CODES: ReadonlySet<number> = new Set([102, 104, 190]);
export function isPermissionCode(code: number): boolean {
  return code === 10 || (code >= 200 && code <= 299);
}

/**
 * Code 100 is "invalid parameter", but Meta also uses it for credentials: a missing or wrong
 * appsecret_proof (a wrong META_APP_SECRET) and some token problems. Those must stop submissions like a
 * 190 does, not be taken for a bad request (which the worker dead-letters). Matched on Meta's message
 * because no subcode distinguishes them.
 */
const CREDENTIAL_MESSAGE = /appsecret_proof|access[ _]token/i;
/** 100/33: the catalog does not exist for this token, or the token may not see it. */
const UNREADABLE_OBJECT_SUBCODE = 33;

export interface ClassifyInput {
  endpoint: GraphEndpoint;
  code: number | null;
  httpStatus: number | null;
  isTransient?: boolean;
  subcode?: number | null;
  /** Meta's message: needed to tell a credentials 100 from a bad-parameter 100. */
  message?: string | null;
}

export function classifyGraphError({
  endpoint,
  code,
  httpStatus,
  isTransient,
  subcode,
  message,
}: ClassifyInput): GraphErrorKind {
  if (code !== null) {
    if (code === 1) return endpoint === 'items_batch' ? 'payload-too-large' : 'transient';
    if (code === 2) return 'transient';
    if (isThrottleCode(code)) return 'throttled';
    if (AUTH_CODES.has(code)) return 'auth';
    if (isPermissionCode(code)) return 'permission';
    if (code === 100) {
      if (message && CREDENTIAL_MESSAGE.test(message)) return 'auth';
      if (subcode === UNREADABLE_OBJECT_SUBCODE) return 'permission';
      return 'invalid-parameter';
    }
    if (isTransient) return 'transient';
  }
  if (httpStatus === 429) return 'throttled';
  if (httpStatus !== null && httpStatus >= 500) return 'transient';
  return 'unknown';
}

/** Only these two kinds are ever retried by the client. */
export function isRetryable(kind: GraphErrorKind): boolean {
  return kind === 'throttled' || kind === 'transient';
}

export interface GraphApiErrorInit {
  kind: GraphErrorKind;
  message: string;
  endpoint?: GraphEndpoint | null;
  code?: number | null;
  subcode?: number | null;
  httpStatus?: number | null;
  retryAfterMs?: number | null;
  fbtraceId?: string | null;
  type?: string | null;
  isTransient?: boolean | null;
  /** HTTP attempts made before giving up (0 when refused before any HTTP). */
  attempts?: number;
}

export class GraphApiError extends Error {
  override readonly name = 'GraphApiError';
  readonly kind: GraphErrorKind;
  readonly endpoint: GraphEndpoint | null;
  readonly code: number | null;
  readonly subcode: number | null;
  readonly httpStatus: number | null;
  /** How long to wait before trying again (throttled, budget-exhausted); null when nothing was advertised. */
  readonly retryAfterMs: number | null;
  readonly fbtraceId: string | null;
  readonly type: string | null;
  readonly isTransient: boolean | null;
  readonly attempts: number;

  /** The message must already be sanitized (see `sanitize` in items-batch-client.ts). */
  constructor(init: GraphApiErrorInit) {
    super(init.message);
    this.kind = init.kind;
    this.endpoint = init.endpoint ?? null;
    this.code = init.code ?? null;
    this.subcode = init.subcode ?? null;
    this.httpStatus = init.httpStatus ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.fbtraceId = init.fbtraceId ?? null;
    this.type = init.type ?? null;
    this.isTransient = init.isTransient ?? null;
    this.attempts = init.attempts ?? 0;
  }

  get retryable(): boolean {
    return isRetryable(this.kind);
  }

  /** Same error with more context (attempt count, a longer wait); the message stays as it was. */
  with(changes: Partial<Pick<GraphApiErrorInit, 'attempts' | 'retryAfterMs'>>): GraphApiError {
    const copy = new GraphApiError({ ...this.#fields(), ...changes });
    copy.stack = this.stack;
    return copy;
  }

  /** What JSON.stringify and loggers see: the typed fields, never a request or a token. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, ...this.#fields() };
  }

  #fields(): Required<GraphApiErrorInit> {
    return {
      kind: this.kind,
      message: this.message,
      endpoint: this.endpoint,
      code: this.code,
      subcode: this.subcode,
      httpStatus: this.httpStatus,
      retryAfterMs: this.retryAfterMs,
      fbtraceId: this.fbtraceId,
      type: this.type,
      isTransient: this.isTransient,
      attempts: this.attempts,
    };
  }
}
