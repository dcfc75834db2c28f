import type { BucUsage } from './usage-header.ts';

/**
 * The per-catalog Catalog Batch budget: how many items_batch calls may go out now without Meta refusing
 * with 80014. Two sources, the more pessimistic one wins:
 *
 * 1. Our own count of items_batch calls in a rolling window (an hour) against `hourlyCallBudget`
 *    (Meta's quota is 200 + 200*log2(unique users) per catalog per rolling hour; configure ours below it).
 * 2. What Meta says in X-Business-Use-Case-Usage after each call: the percentage used and the minutes to
 *    regain access. Meta's real capacity is unknown, so it is estimated from how much the percentage moved
 *    per call we made (Σ our calls / Σ percentage points × 100, over the window); until that estimate
 *    exists, the configured budget stands in. Calls from other clients of the same catalog make the
 *    percentage move faster, which only makes the estimate more conservative.
 *
 * Only figures we can trust feed the estimate: the header of a SUCCESSFUL items_batch call. A refusal's
 * header reads 100 % whatever the real usage (Meta's way of saying "not now"), and taking it as usage once
 * made one 80014 stall uploads for an hour and collapsed the estimate to a dozen calls an hour. A success
 * whose percentage implies fewer than `minCapacity` calls an hour (a jump to 100 % in one call, say) is
 * ignored too: Meta documents at least 200 an hour, so such a reading is noise or other clients' traffic,
 * and refusals, if they come, are handled below.
 *
 * From those, `check()` answers with a wait:
 * - blocked (Meta advertised an ETA to regain access, or refused us with one): until then; such a
 *   response's percentage is not used, as it reads 100 until the ETA. A refusal WITHOUT a wait (ETA 0,
 *   no Retry-After) blocks for a bounded backoff instead (`refused()`: throttleRetryMinMs doubling per
 *   consecutive refusal up to throttleRetryMaxMs; a success resets it), never "until our calls leave the
 *   hour";
 * - at or over the budget (ours, or the estimated percentage ≥ `hardStopPct`): until enough of our
 *   calls leave the window to bring it back under;
 * - above `slowdownPct` of either: paced to the sustainable rate, one call per window / capacity;
 * - otherwise: go.
 *
 * `acquire()` serializes callers, waits (through the injected `sleep`) when the wait is short, records the
 * call, and throws through `onTooLong` when the wait exceeds the caller's cap, so the worker can keep the
 * work and come back instead of holding it for an hour.
 */

export interface CallBudgetOptions {
  hourlyCallBudget: number;
  now?: () => number;
  /** Rolling window of the quota; an hour at Meta. */
  windowMs?: number;
  /** Start pacing calls once this percentage of the budget is used. Default 80. */
  slowdownPct?: number;
  /** Treat the budget as spent at this usage percentage. Default 100. */
  hardStopPct?: number;
  /** A header implying fewer calls an hour than this is not believed. Default 10. */
  minCapacity?: number;
  /** Block after a refusal that named no wait: this long, doubling per consecutive refusal… */
  throttleRetryMinMs?: number;
  /** …up to this. Defaults 5 s and 5 min. */
  throttleRetryMaxMs?: number;
}

export const BUDGET_DEFAULTS = {
  minCapacity: 10,
  throttleRetryMinMs: 5_000,
  throttleRetryMaxMs: 300_000,
} as const;

/** The n-th (1-based) consecutive wait after refusals that named no wait: min·2^(n-1), capped at max. */
export function throttleBackoffMs(n: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(n - 1, 30)));
}

export type BudgetReason = 'ok' | 'blocked' | 'local-budget' | 'meta-usage' | 'pacing';

export interface BudgetDecision {
  waitMs: number;
  reason: BudgetReason;
  /** Calls still allowed in the current window (estimate). */
  remaining: number;
  /** Estimated usage percentage now (from the header when seen, else from our own count). */
  usagePct: number;
  /** Capacity the budget works with: min(configured, estimated from the header). */
  capacity: number;
}

interface Observation {
  at: number;
  pct: number;
  /** Our totals (calls made, calls expired from the window) when the header was read. */
  made: number;
  expired: number;
}

export class CallBudget {
  readonly hourlyCallBudget: number;
  readonly windowMs: number;
  readonly slowdownPct: number;
  readonly hardStopPct: number;
  readonly minCapacity: number;
  readonly throttleRetryMinMs: number;
  readonly throttleRetryMaxMs: number;
  private readonly now: () => number;
  /** Refusals without a wait since the last success: how far the bounded backoff has grown. */
  private refusals = 0;
  /** Times of our calls inside the window, oldest first. */
  private calls: number[] = [];
  private made = 0;
  private expired = 0;
  private blockedUntil = 0;
  private last: Observation | null = null;
  /** Per pair of consecutive observations: our net calls and the percentage points it moved. */
  private steps: { at: number; calls: number; points: number }[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: CallBudgetOptions) {
    if (!(options.hourlyCallBudget >= 1)) throw new RangeError('hourlyCallBudget must be at least 1');
    this.hourlyCallBudget = options.hourlyCallBudget;
    this.windowMs = options.windowMs ?? 3_600_000;
    this.slowdownPct = options.slowdownPct ?? 80;
    this.hardStopPct = options.hardStopPct ?? 100;
    this.minCapacity = options.minCapacity ?? BUDGET_DEFAULTS.minCapacity;
    this.throttleRetryMinMs = options.throttleRetryMinMs ?? BUDGET_DEFAULTS.throttleRetryMinMs;
    this.throttleRetryMaxMs = Math.max(
      this.throttleRetryMinMs,
      options.throttleRetryMaxMs ?? BUDGET_DEFAULTS.throttleRetryMaxMs,
    );
    this.now = options.now ?? Date.now;
  }

  /** Counts one call (made at `at`) against the window. */
  record(at: number = this.now()): void {
    this.prune(at);
    this.calls.push(at);
    this.made++;
  }

  /**
   * Reads the usage Meta reported with a SUCCESSFUL response to one of our calls (never a refusal's:
   * see `refused`). A success also ends a run of refusals, so the next one starts the backoff afresh.
   */
  observe(usage: BucUsage | null, at: number = this.now()): void {
    this.refusals = 0;
    if (!usage) return;
    this.prune(at);
    if (usage.etaMinutes > 0) {
      // Meta has (or is about to) cut us off and said when access returns: that time is the answer,
      // not the percentage (which reads 100 until then).
      this.blockUntil(at + usage.etaMinutes * 60_000);
      return;
    }
    const obs: Observation = { at, pct: usage.pct, made: this.made, expired: this.expired };
    if (this.last) {
      const net = obs.made - this.last.made - (obs.expired - this.last.expired);
      const points = obs.pct - this.last.pct;
      // More points per call than any real quota allows: not a reading to learn from or to stop on.
      if (net > 0 && points > 0 && (net * 100) / points < this.minCapacity) return;
      if (net > 0 && points >= 0) this.steps.push({ at, calls: net, points });
    }
    this.last = obs;
  }

  /**
   * Meta refused an items_batch call as throttled. With a wait it asked for (`askedMs` from the usage
   * header's ETA or Retry-After), no call goes before then. Without one, the refusal's 100 % says nothing
   * about when capacity returns, so the budget backs off instead: throttleRetryMinMs, doubling per
   * consecutive refusal up to throttleRetryMaxMs. Returns the wait now in force.
   */
  refused(askedMs: number | null, at: number = this.now()): number {
    const wait =
      askedMs !== null && askedMs > 0
        ? askedMs
        : throttleBackoffMs(++this.refusals, this.throttleRetryMinMs, this.throttleRetryMaxMs);
    this.blockUntil(at + wait);
    return this.blockedUntil - at;
  }

  /** Meta refused us (or said when access comes back): make no call before `until`. */
  blockUntil(until: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, until);
  }

  /** Capacity estimated from the header, or null before Meta's percentage has moved. */
  estimatedCapacity(at: number = this.now()): number | null {
    this.prune(at);
    let calls = 0;
    let points = 0;
    for (const s of this.steps) {
      calls += s.calls;
      points += s.points;
    }
    return points > 0 ? (calls * 100) / points : null;
  }

  check(at: number = this.now()): BudgetDecision {
    this.prune(at);
    const estimated = this.estimatedCapacity(at);
    const capacity = Math.max(1, Math.min(this.hourlyCallBudget, estimated ?? Infinity));
    const n = this.calls.length;
    const lastCall = this.calls[n - 1];
    const pacingWait = lastCall === undefined ? 0 : Math.max(0, lastCall + this.windowMs / capacity - at);

    // Usage percentage now: the last header, moved by our calls since, minus ours that left the window.
    let usagePct = (n * 100) / this.hourlyCallBudget;
    let metaPct: number | null = null;
    if (this.last && this.last.at > at - this.windowMs) {
      const net = this.made - this.last.made - (this.expired - this.last.expired);
      metaPct = Math.max(0, this.last.pct + (net * 100) / capacity);
      usagePct = Math.max(usagePct, metaPct);
    }
    const remainingLocal = this.hourlyCallBudget - n;
    const remainingMeta =
      metaPct === null ? Infinity : Math.floor(((this.hardStopPct - metaPct) * capacity) / 100);
    const remaining = Math.max(0, Math.min(remainingLocal, remainingMeta));

    let waitMs = 0;
    let reason: BudgetReason = 'ok';
    const consider = (ms: number, why: BudgetReason): void => {
      if (ms > waitMs) {
        waitMs = ms;
        reason = why;
      }
    };
    if (this.blockedUntil > at) consider(this.blockedUntil - at, 'blocked');
    if (n >= this.hourlyCallBudget) {
      consider(this.calls[n - this.hourlyCallBudget]! + this.windowMs - at, 'local-budget');
    } else if (n >= (this.slowdownPct / 100) * this.hourlyCallBudget) {
      consider(pacingWait, 'pacing');
    }
    if (metaPct !== null && metaPct >= this.hardStopPct) {
      // Enough of our calls must leave the window to bring the percentage under the stop line.
      const mustExpire = Math.floor(((metaPct - this.hardStopPct) * capacity) / 100) + 1;
      const freeing = this.calls[mustExpire - 1];
      const fallback = this.windowMs / capacity; // none of ours to wait for: probe again later
      consider(freeing === undefined ? fallback : freeing + this.windowMs - at, 'meta-usage');
    } else if (metaPct !== null && metaPct >= this.slowdownPct) {
      consider(pacingWait, 'pacing');
    }
    return { waitMs: Math.ceil(waitMs), reason, remaining, usagePct, capacity };
  }

  remaining(at: number = this.now()): number {
    return this.check(at).remaining;
  }

  /** The items_batch calls in the window as this process knows them, for the next holder of the catalog lease. */
  callTimes(at: number = this.now()): number[] {
    this.prune(at);
    return [...this.calls];
  }

  /**
   * Calls other workers made (handed over with the catalog lease) count against the same window, so any
   * number of worker tasks share one quota instead of each assuming the whole of it.
   */
  adopt(times: readonly number[], at: number = this.now()): void {
    this.prune(at);
    const cutoff = at - this.windowMs;
    const known = new Set(this.calls);
    const added = times.filter((t) => Number.isFinite(t) && t > cutoff && t <= at && !known.has(t));
    if (added.length === 0) return;
    this.calls = [...this.calls, ...added].sort((x, y) => x - y);
  }

  /**
   * Waits for a slot and records the call. Callers are served one at a time, so two concurrent calls
   * cannot both take the last slot. If the wait would exceed `maxWaitMs`, `onTooLong(decision)` is
   * thrown instead and nothing is recorded.
   */
  acquire(options: {
    maxWaitMs: number;
    sleep: (ms: number) => Promise<void>;
    onWait?: (decision: BudgetDecision) => void;
    onTooLong: (decision: BudgetDecision) => Error;
  }): Promise<BudgetDecision> {
    const run = async (): Promise<BudgetDecision> => {
      let waited = 0;
      for (;;) {
        const decision = this.check();
        if (decision.waitMs <= 0) {
          this.record();
          return decision;
        }
        if (waited + decision.waitMs > options.maxWaitMs) throw options.onTooLong(decision);
        options.onWait?.(decision);
        await options.sleep(decision.waitMs);
        waited += decision.waitMs;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private prune(at: number): void {
    const cutoff = at - this.windowMs;
    let i = 0;
    while (i < this.calls.length && this.calls[i]! <= cutoff) i++;
    if (i > 0) {
      this.calls.splice(0, i);
      this.expired += i;
    }
    if (this.steps.length > 0 && this.steps[0]!.at <= cutoff)
      this.steps = this.steps.filter((s) => s.at > cutoff);
  }
}
