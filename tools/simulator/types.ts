import type { Logger } from '../../src/logger.ts';

/** Which Graph endpoint a fault applies to. */
export type SimEndpoint = 'items_batch' | 'check_batch_request_status' | 'catalog';

/** One injected Graph error. Matching calls get it `times` times (then it is spent), or at `rate`, or always. */
export interface InjectedError {
  code: number;
  subcode?: number;
  /** Default: every Graph endpoint. */
  endpoint?: SimEndpoint | 'any';
  message?: string;
  type?: string;
  httpStatus?: number;
  isTransient?: boolean;
  /** For throttling codes: minutes put in estimated_time_to_regain_access of the usage header (default 1). */
  etaMinutes?: number;
  times?: number;
  rate?: number;
}

/** The batchError fault. Draws come from the faults' PRNG (`seed`). */
export interface BatchErrorFault {
  /** Share (0–1) of batches that fail; absent: every batch (while `times` lasts). */
  rate?: number;
  /** Only this many more batches fail. */
  times?: number;
  /**
   * Items applied before the batch ends in `error`: none (default), some (a random proper subset when the
   * batch has two items or more), all.
   */
  apply?: 'none' | 'some' | 'all';
  /** Unapplied items listed in ids_of_invalid_requests, each with an error: none (default), some, all. */
  listInvalid?: 'none' | 'some' | 'all';
}

/** The reorderBatches fault. */
export interface ReorderFault {
  /** Extra processing time of a held batch (ms). */
  holdMs: number;
  /** With `random`, the extra time is drawn uniformly from 0–holdMs for each held batch. */
  random?: boolean;
  /** Share (0–1) of batches held; absent: every batch (while `times` lasts). */
  rate?: number;
  /** Only this many more batches are held. */
  times?: number;
}

/**
 * Faults, switchable at start-up (options.faults, CLI flags) and at run time (setFaults, POST /_admin/faults).
 * Rates draw from a PRNG seeded with `seed`, so a run with the same calls fails the same way.
 */
export interface SimulatorFaults {
  /** Every items_batch is refused with 80014 and a usage header at 100 % (`true` = ETA 1 minute). */
  throttle?: boolean | { etaMinutes?: number; times?: number };
  /** Every check_batch_request_status (and catalog node read, same bucket) is refused with 80009. */
  statusThrottle?: boolean | { etaMinutes?: number; times?: number };
  /** Share (0–1) of Graph calls answered with a bare HTTP 5xx and an HTML body (a proxy failing). */
  serverErrorRate?: number;
  serverErrorStatus?: number;
  /** Share (0–1) of Graph calls answered with error code 2 (temporary service error), HTTP 503. */
  code2Rate?: number;
  /** Every Graph response is delayed this long (real time). */
  latencyMs?: number;
  /** Every Graph call fails with 190 (default subcode 463, expired) even with the right token. */
  invalidToken?: boolean | { subcode?: number; times?: number };
  /** Items whose id matches this regular expression fail during processing (not in the first pass). */
  rejectIdPattern?: string;
  /** Share (0–1) of batches that end with status `error` and apply nothing (shorthand of `batchError`). */
  batchErrorRate?: number;
  /**
   * Batches that end with status `error` after applying none, some or all of their items, naming none,
   * some or all of the unapplied ones in ids_of_invalid_requests (`true` = every batch, nothing applied).
   */
  batchError?: boolean | BatchErrorFault;
  /**
   * Meta documents no order between batches: a held batch is processed `holdMs` later than its normal
   * processing delay, so batches accepted after it are applied before it.
   */
  reorderBatches?: ReorderFault;
  /** Any other Graph error (1, 4, 10, 17, 32, 100, 102, 200, 613, …). */
  errors?: InjectedError[];
  /** Seed of the PRNG behind the rates; setting faults with a seed restarts the sequence. */
  seed?: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** The token the simulator accepts (Bearer header or access_token parameter). */
  accessToken: string;
  /** When set, every Graph call must carry a matching appsecret_proof. */
  appSecret?: string;
  /** Time from items_batch to `finished` (open question q1 of src/meta/README.md: Meta publishes no figure). Default 1000. */
  processingDelayMs?: number;
  /** items_batch calls per catalog per rolling hour before 80014. Default 200. */
  hourlyCallBudget?: number;
  /** check_batch_request_status reads per catalog per rolling hour before 80009. Default 20000. */
  statusReadBudget?: number;
  /** Cap of the `errors` and `warnings` samples. Default 20. */
  errorSampleSize?: number;
  /** Largest request body; over it Meta answers code 1. Default 28,000,000. */
  maxBodyBytes?: number;
  /** Most records in one items_batch. Default 5000. */
  maxRequests?: number;
  faults?: SimulatorFaults;
  logger?: Logger;

  /** Clock of budgets and processing; inject in tests to step time instead of sleeping. */
  now?: () => number;
  /** Rolling window of both budgets. Default one hour. */
  budgetWindowMs?: number;
  /** Open question q4 of src/meta/README.md: `line` in status errors is 0- or 1-based. Default 0. */
  lineBase?: 0 | 1;
  /** Open question q6 of src/meta/README.md: title/description limits. Defaults 150 / 5000. */
  titleMaxLength?: number;
  descriptionMaxLength?: number;
  /** Open question q5 of src/meta/README.md: key and type strings of the usage header. Defaults: the catalog id; catalog_batch / catalog_management. */
  businessId?: string;
  batchBucType?: string;
  statusBucType?: string;
  /** Open question q2 of src/meta/README.md: HTTP status per Graph error code. Default: 1 → 500, 2 → 503, everything else 400. */
  errorHttpStatus?: Record<number, number>;
  /** Only these catalog ids exist (others → code 100, subcode 33); default: any id. */
  catalogIds?: string[];
  /** Calls kept by the call log (oldest dropped first). Default 10,000. */
  callLogLimit?: number;
}

export type SimEncoding = 'json' | 'form' | 'multipart' | 'query' | 'none' | 'other';

/** One call the simulator received. */
export interface SimCall {
  seq: number;
  /** ms since epoch on the simulator clock, and the same as ISO text. */
  at: number;
  time: string;
  method: string;
  /** Path without the query string (tokens never reach the log). */
  path: string;
  endpoint: SimEndpoint | 'products' | 'other';
  catalogId: string | null;
  encoding: SimEncoding;
  /** Records in an items_batch call (null for other calls or an unreadable `requests`). */
  itemCount: number | null;
  bytes: number;
  /** Null while the call is still being answered. */
  httpStatus: number | null;
  outcome: 'pending' | 'ok' | 'error';
  errorCode: number | null;
  errorSubcode: number | null;
  handle: string | null;
  durationMs: number | null;
}

/**
 * One application of an item by a batch (the simulator's per-product history): what Meta applied, from
 * which batch, and when, in the order it happened. An oracle reads it to check that a product's value
 * never went backwards.
 */
export interface SimHistoryEntry {
  /** Order of application over the whole simulator (1, 2, …). */
  seq: number;
  catalogId: string;
  /** Retailer id. */
  id: string;
  method: 'CREATE' | 'UPDATE' | 'DELETE';
  /** The record's fields as applied (the request's `data`, known fields only; empty for DELETE). */
  fields: Record<string, unknown>;
  handle: string;
  /** How the applying batch ended: `error` when the batchError fault applied the item anyway. */
  batchStatus: 'finished' | 'error';
  /** When the batch was accepted (ms, simulator clock, and as ISO text). */
  submittedAt: number;
  /** When the item was applied (ms, simulator clock, and as ISO text). */
  at: number;
  time: string;
}

export interface StoredProduct {
  id: string;
  [field: string]: unknown;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (use as META_GRAPH_URL). */
  url: string;
  port: number;
  stop(): Promise<void>;
  setFaults(faults: SimulatorFaults): void;
  faults(): SimulatorFaults;
  calls(): SimCall[];
  products(catalogId: string): StoredProduct[];
  /** Every application of an item of this catalog (of one retailer id, when given), oldest first. */
  history(catalogId: string, id?: string): SimHistoryEntry[];
  /** Forgets products, batches, budgets and calls, and puts the start-up faults back. */
  reset(): void;
}
