import type { Logger } from '../logger.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { CatalogLease } from '../state/catalog-lease.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import type { BackoffPolicy } from '../shared/backoff.ts';
import type { WindowGuard } from '../guardrails/window-check.ts';
import type { GateDeps } from './gated-send.ts';
import type { ManifestStore } from './manifest-store.ts';

/** What a flush (flush.ts and its parts flush-plan, flush-payloads, flush-submit) is given. */
export interface FlushDeps extends GateDeps {
  client: CatalogClient;
  state: ProductStateStore;
  manifests: ManifestStore;
  lease: CatalogLease;
  logger: Logger;
  now: () => number;
  catalogId: string;
  syncedPrefix: string;
  batchMaxItems: number;
  maxPayloadBytes: number;
  /** How long the lease must stay ours for one items_batch call (the client's request timeout). */
  requestTimeoutMs: number;
  /** A pending manifest older than this whose files are being processed again was abandoned. */
  abandonAfterMs: number;
  retry: BackoffPolicy;
  metrics?: ServiceMetrics | undefined;
  /** The guardrails (src/guardrails/): a window that trips a rule is held, not sent. */
  guard?: WindowGuard | undefined;
  /**
   * Products per state read and write: a store that reads per key (DynamoDB) walks the window in slices
   * of this size; the S3 shard store reads whole shards, so it takes the window at once (the default).
   */
  stateSlice?: number | undefined;
}
