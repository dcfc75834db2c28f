import type { S3Client } from '@aws-sdk/client-s3';
import type { GuardrailHistory } from '../guardrails/history-store.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { CatalogLease } from '../state/catalog-lease.ts';
import type { GateDeps } from '../worker/gated-send.ts';

/** What a drift repair needs (repair.ts and its parts); built by the worker's composition root. */
export interface RepairDeps extends GateDeps {
  lease: CatalogLease;
  syncedPrefix: string;
  bucket: string;
  catalogId: string;
  batchMaxItems: number;
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  fields: readonly string[];
  budgetReserve: number;
  deleteOrphans: boolean;
  deleteMax: number;
  history?: GuardrailHistory | undefined;
  metrics?: ServiceMetrics | undefined;
  s3: S3Client;
}
