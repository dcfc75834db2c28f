import type { Logger } from '../logger.ts';
import { backoffDelay } from '../shared/backoff.ts';
import { throttleBackoffMs, type BudgetDecision, type CallBudget } from './call-budget.ts';
import type { GraphCredentials } from './graph-credentials.ts';
import { GraphApiError, isRetryable, type GraphEndpoint } from './graph-error.ts';
import type { GraphResponse } from './graph-transport.ts';

/**
 * A Graph call with its retries. Throttled and transient failures are retried up to `maxRetries` times
 * with exponential backoff and jitter, and never sooner than Meta asked (X-Business-Use-Case-Usage ETA,
 * Retry-After). A throttle that names no wait (ETA 0) is retried after a bounded backoff
 * (throttleRetryMinMs doubling up to throttleRetryMaxMs), never after "an hour". A wait longer than
 * `maxRetryWaitMs` is not slept through: the error is thrown with `retryAfterMs` so the caller can keep the
 * work and come back. Every items_batch attempt first takes a slot from the CallBudget; only the usage
 * header of a successful items_batch call teaches the budget anything.
 */

export interface RetryPolicy {
  maxRetries: number;
  maxBudgetWaitMs: number;
  maxRetryWaitMs: number;
  /** First backoff step; doubles per attempt up to retryMaxDelayMs, then "equal jitter" (50–100 %). */
  retryBaseMs: number;
  retryMaxDelayMs: number;
  throttleRetryMinMs: number;
  throttleRetryMaxMs: number;
}

export interface GraphRetriesDeps {
  policy: RetryPolicy;
  catalogId: string;
  credentials: GraphCredentials;
  budget: CallBudget;
  logger: Logger;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
  random: () => number;
}

/** What a call carries, for its log lines. */
export interface CallSize {
  items?: number;
  bytes?: number;
}

export class GraphRetries {
  readonly #d: GraphRetriesDeps;

  constructor(deps: GraphRetriesDeps) {
    this.#d = deps;
  }

  async call(
    endpoint: GraphEndpoint,
    signal: AbortSignal | undefined,
    what: CallSize,
    send: (token: string) => Promise<GraphResponse>,
    maxRetries: number = this.#d.policy.maxRetries,
  ): Promise<GraphResponse> {
    const { credentials, budget, logger: log, now } = this.#d;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      // Before the budget: a token that cannot work must not use up a slot. Thrown with attempts 0.
      const token = credentials.usableToken(endpoint);
      if (endpoint === 'items_batch') await this.#takeBudgetSlot(signal);
      const started = now();
      try {
        const res = await send(token);
        // Only a success's header is usage; a refusal's reads 100 % (see CallBudget.refused).
        if (endpoint === 'items_batch') budget.observe(res.usage);
        log.debug('graph call', { endpoint, attempt, status: res.status, ms: now() - started, ...what });
        return res;
      } catch (caught) {
        if (!(caught instanceof GraphApiError)) throw caught;
        let err = caught.with({ attempts: attempt });
        if (err.kind === 'throttled')
          err = err.with({ retryAfterMs: this.#throttleWait(endpoint, attempt, err) });
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
          log.warn('graph call failed', { ...fields, error: err.message });
          throw err;
        }
        // A throttle's wait is already a backoff (Meta's, or the bounded one): no jitter on top.
        const waitMs =
          err.kind === 'throttled' && err.retryAfterMs !== null
            ? err.retryAfterMs
            : this.#retryDelay(attempt, err.retryAfterMs);
        if (waitMs > this.#d.policy.maxRetryWaitMs) {
          log.warn('graph call failed; the wait Meta asks for is too long to hold the call', {
            ...fields,
            waitMs,
            error: err.message,
          });
          throw err.with({ retryAfterMs: waitMs });
        }
        log.warn('graph call failed; retrying', { ...fields, waitMs, error: err.message });
        await this.#d.sleep(waitMs, signal);
      }
    }
  }

  /**
   * How long a throttle keeps us off. Meta's own wait when it named one; otherwise the bounded backoff
   * (throttleRetryMinMs doubling to throttleRetryMaxMs): for items_batch the budget keeps that count
   * across calls and blocks the next call until then, for reads it goes by the attempt.
   */
  #throttleWait(endpoint: GraphEndpoint, attempt: number, err: GraphApiError): number {
    if (endpoint === 'items_batch') return this.#d.budget.refused(err.retryAfterMs);
    const { throttleRetryMinMs, throttleRetryMaxMs } = this.#d.policy;
    return err.retryAfterMs ?? throttleBackoffMs(attempt, throttleRetryMinMs, throttleRetryMaxMs);
  }

  /** Exponential backoff with equal jitter, and never less than what Meta asked for. */
  #retryDelay(attempt: number, askedMs: number | null): number {
    const { retryBaseMs, retryMaxDelayMs } = this.#d.policy;
    return backoffDelay(attempt, { initialMs: retryBaseMs, maxMs: retryMaxDelayMs }, askedMs, this.#d.random);
  }

  async #takeBudgetSlot(signal: AbortSignal | undefined): Promise<void> {
    const { catalogId, logger: log } = this.#d;
    const describe = (d: BudgetDecision) => ({
      catalogId,
      waitMs: d.waitMs,
      reason: d.reason,
      remaining: d.remaining,
      usagePct: Math.round(d.usagePct),
      capacity: Math.round(d.capacity),
    });
    await this.#d.budget.acquire({
      maxWaitMs: this.#d.policy.maxBudgetWaitMs,
      sleep: (ms) => this.#d.sleep(ms, signal),
      onWait: (d) => log.info('items_batch budget: waiting before the next call', describe(d)),
      onTooLong: (d) => {
        log.warn('items_batch budget exhausted for now', describe(d));
        return new GraphApiError({
          kind: 'budget-exhausted',
          endpoint: 'items_batch',
          retryAfterMs: d.waitMs,
          message: `items_batch: call budget of catalog ${catalogId} needs a ${Math.ceil(d.waitMs / 1000)} s wait (${d.reason}); come back later`,
        });
      },
    });
  }
}
