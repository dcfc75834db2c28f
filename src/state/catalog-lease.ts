import type { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { sleep as defaultSleep } from '../shared/backoff.ts';
import { ConditionFailedError, getJson, putJson } from '../shared/s3-json.ts';
import { leaseKey } from '../contract/layout.ts';

/**
 * A lease per catalog, held while a worker decides what to send and sends it, so that any number of
 * worker tasks (deploys with overlap included) take these steps one at a time per catalog.
 *
 * Stored as one JSON object, `<syncedPrefix>leases/<catalogId>.json`, changed only with conditional writes.
 * Each grant increments a fencing token. Two guards keep a worker that lost its lease (paused by GC, a
 * frozen container, a long stall) from acting on it:
 * - before each action it checks its own clock against the expiry it wrote, minus a margin for clock skew
 *   (`ensure`), and the lease's `signal` aborts work in flight once that time passes or a renewal fails;
 * - product-state writes carry the token, and a shard that has seen a higher token refuses them
 *   (product-state-store.ts), so a stale holder cannot overwrite what the new holder decided.
 */

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

interface LeaseDoc {
  owner: string;
  token: number;
  /** ms since epoch; 0 once released. */
  expiresAt: number;
  /** items_batch call times of the last hour, handed from holder to holder (one quota per catalog). */
  calls?: number[];
}

/** The catalog's call budget, shared through the lease document. */
export interface SharedCalls {
  load(times: readonly number[]): void;
  save(): number[];
}

export interface CatalogLeaseOptions {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  catalogId: string;
  ttlMs: number;
  /** Identifies this process in the lease object (for operators); unique per process by default. */
  owner?: string;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** When set, the holder takes over the call history on acquire and hands it on at each renewal. */
  sharedCalls?: SharedCalls;
}

export interface HeldLease {
  readonly token: number;
  /** Aborts when the lease is lost or about to expire without renewal. */
  readonly signal: AbortSignal;
  /** Throws LeaseLostError unless the lease stays ours for at least `forMs` (renewing first if need be). */
  ensure(forMs: number): Promise<void>;
  release(): Promise<void>;
}

export class CatalogLease {
  readonly #o: CatalogLeaseOptions;
  readonly #key: string;
  readonly #owner: string;
  readonly #now: () => number;
  /** Clock skew tolerated between workers: a holder stops this long before expiry, a taker waits this long after. */
  readonly #marginMs: number;

  constructor(options: CatalogLeaseOptions) {
    this.#o = options;
    this.#key = leaseKey(options.syncedPrefix, options.catalogId);
    this.#owner = options.owner ?? `${process.pid}-${randomBytes(4).toString('hex')}`;
    this.#now = options.now ?? Date.now;
    this.#marginMs = Math.min(2000, Math.floor(options.ttlMs / 5));
  }

  get owner(): string {
    return this.#owner;
  }

  /** Waits until the lease is free (released or expired), then takes it. */
  async acquire(signal?: AbortSignal): Promise<HeldLease> {
    const sleep = this.#o.sleep ?? defaultSleep;
    for (;;) {
      signal?.throwIfAborted();
      const got = await getJson<LeaseDoc>(this.#o.s3, this.#o.bucket, this.#key);
      const now = this.#now();
      const free = !got || got.value.expiresAt === 0 || got.value.expiresAt + this.#marginMs < now;
      if (free) {
        const doc: LeaseDoc = {
          owner: this.#owner,
          token: (got?.value.token ?? 0) + 1,
          expiresAt: now + this.#o.ttlMs,
        };
        try {
          const etag = await putJson(
            this.#o.s3,
            this.#o.bucket,
            this.#key,
            doc,
            got ? { ifMatch: got.etag } : { ifNoneMatch: '*' },
          );
          this.#o.sharedCalls?.load(got?.value.calls ?? []);
          return new Held(this.#o, this.#key, doc, etag, this.#marginMs, this.#now);
        } catch (err) {
          if (!(err instanceof ConditionFailedError)) throw err;
          continue; // another worker took it first
        }
      }
      const untilFree = got.value.expiresAt + this.#marginMs - now;
      await sleep(Math.max(50, Math.min(untilFree, this.#o.ttlMs / 4, 1000)), signal);
    }
  }
}

class Held implements HeldLease {
  readonly token: number;
  readonly #o: CatalogLeaseOptions;
  readonly #key: string;
  readonly #marginMs: number;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #doc: LeaseDoc;
  #etag: string;
  #timer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | null = null;
  #released = false;

  constructor(
    o: CatalogLeaseOptions,
    key: string,
    doc: LeaseDoc,
    etag: string,
    marginMs: number,
    now: () => number,
  ) {
    this.#o = o;
    this.#key = key;
    this.#doc = doc;
    this.#etag = etag;
    this.#marginMs = marginMs;
    this.#now = now;
    this.token = doc.token;
    this.#timer = setInterval(() => void this.#renew().catch(() => undefined), Math.max(50, o.ttlMs / 3));
    this.#timer.unref();
    this.#armExpiry();
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async ensure(wantMs: number): Promise<void> {
    if (this.#abort.signal.aborted) throw this.#lost('the lease was lost');
    // A call longer than the lease is covered by the renewals running meanwhile (and aborted if one fails).
    const forMs = Math.min(wantMs, this.#o.ttlMs - 2 * this.#marginMs);
    if (this.#now() + forMs + this.#marginMs > this.#doc.expiresAt) await this.#renew();
    if (this.#abort.signal.aborted || this.#now() + forMs + this.#marginMs > this.#doc.expiresAt) {
      throw this.#lost(`the lease does not stay held for the next ${forMs} ms`);
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    clearTimeout(this.#expiryTimer);
    await this.#renewing?.catch(() => undefined);
    if (this.#abort.signal.aborted) return;
    this.#abort.abort(new LeaseLostError('released'));
    try {
      await putJson(
        this.#o.s3,
        this.#o.bucket,
        this.#key,
        { ...this.#doc, expiresAt: 0, ...this.#calls() },
        { ifMatch: this.#etag },
      );
    } catch {
      // Taken over or unreachable: it expires on its own; nothing we hold depends on it any more.
    }
  }

  #renew(): Promise<void> {
    this.#renewing ??= (async () => {
      if (this.#released || this.#abort.signal.aborted) return;
      const next: LeaseDoc = { ...this.#doc, expiresAt: this.#now() + this.#o.ttlMs, ...this.#calls() };
      try {
        this.#etag = await putJson(this.#o.s3, this.#o.bucket, this.#key, next, { ifMatch: this.#etag });
        this.#doc = next;
        this.#armExpiry();
      } catch (err) {
        // Somebody else holds it now: stop at once. A network failure is retried by the next tick,
        // and the expiry timer stops us if none succeeds in time.
        if (err instanceof ConditionFailedError)
          this.#abort.abort(this.#lost('another worker took the lease'));
      }
    })().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  #calls(): Pick<LeaseDoc, 'calls'> {
    return this.#o.sharedCalls ? { calls: this.#o.sharedCalls.save() } : {};
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const ms = this.#doc.expiresAt - this.#marginMs - this.#now();
    this.#expiryTimer = setTimeout(() => this.#abort.abort(this.#lost('the lease expired')), Math.max(0, ms));
    this.#expiryTimer.unref();
  }

  #lost(why: string): LeaseLostError {
    clearInterval(this.#timer);
    return new LeaseLostError(`catalog lease ${this.#key} (token ${this.token}): ${why}`);
  }
}
