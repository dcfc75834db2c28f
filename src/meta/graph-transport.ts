import type { GraphCredentials } from './graph-credentials.ts';
import {
  classifyGraphError,
  GraphApiError,
  type GraphEndpoint,
  type GraphErrorEnvelope,
} from './graph-error.ts';
import { BUC_HEADER, parseBucUsage, type BucUsage } from './usage-header.ts';

/**
 * One HTTP exchange with the Graph API: the token as `Authorization: Bearer`, a timeout, the JSON body,
 * and any failure (network, timeout, a Graph error envelope, a non-2xx status) turned into a classified
 * GraphApiError whose `retryAfterMs` is the wait Meta asked for (usage header ETA, Retry-After). No
 * retries here: graph-retries.ts decides those.
 */

export interface GraphResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** X-Business-Use-Case-Usage of this (successful) answer. */
  usage: BucUsage | null;
}

export interface GraphTransportOptions {
  credentials: GraphCredentials;
  requestTimeoutMs: number;
  fetch: typeof fetch;
}

export class GraphTransport {
  readonly #o: GraphTransportOptions;

  constructor(options: GraphTransportOptions) {
    this.#o = options;
  }

  async send(
    endpoint: GraphEndpoint,
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    token: string,
  ): Promise<GraphResponse> {
    const { credentials, requestTimeoutMs } = this.#o;
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const headers = new Headers(init.headers);
    try {
      headers.set('authorization', `Bearer ${token}`);
    } catch (err) {
      // Headers take Latin-1 only. usableToken() stops such tokens first; this is the last guard, so a
      // TypeError never reaches the worker as if it were a network failure.
      throw new GraphApiError({
        kind: 'auth',
        endpoint,
        message: credentials.sanitize(
          `${endpoint}: the access token from ${credentials.origin} cannot be sent in an HTTP header (${(err as Error).message})`,
        ),
      });
    }
    headers.set('accept', 'application/json');
    let res: Response;
    let text: string;
    try {
      res = await this.#o.fetch(url, {
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
          message: `${endpoint}: no response within ${requestTimeoutMs} ms`,
        });
      }
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new GraphApiError({
        kind: 'transient',
        endpoint,
        message: credentials.sanitize(`${endpoint}: network error (${why})`),
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
    if (res.ok && !envelope) return { status: res.status, headers: res.headers, body, usage };
    throw refusal(endpoint, res, envelope, usage, (t) => credentials.sanitize(t));
  }
}

/** Meta's refusal (or a non-2xx without an envelope) as a classified GraphApiError. */
function refusal(
  endpoint: GraphEndpoint,
  res: Response,
  envelope: GraphErrorEnvelope | null,
  usage: BucUsage | null,
  sanitize: (text: string) => string,
): GraphApiError {
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
    ? [envelope.message, envelope.error_user_msg].filter((m) => typeof m === 'string' && m !== '').join(' — ')
    : `HTTP ${res.status} without a Graph error body`;
  const codeText =
    code === null ? '' : ` ${code}${envelope?.error_subcode ? `/${envelope.error_subcode}` : ''}`;
  return new GraphApiError({
    kind,
    endpoint,
    code,
    subcode,
    httpStatus: res.status,
    retryAfterMs,
    fbtraceId: typeof envelope?.fbtrace_id === 'string' ? envelope.fbtrace_id : null,
    type: typeof envelope?.type === 'string' ? envelope.type : null,
    isTransient: typeof envelope?.is_transient === 'boolean' ? envelope.is_transient : null,
    message: sanitize(`${endpoint}: Meta error${codeText} (${kind}, HTTP ${res.status}): ${metaMessage}`),
  });
}
