import type { SQSClient } from '@aws-sdk/client-sqs';
import type { InspectDeps } from '../drift/inspect.ts';
import type { RepairDeps } from '../drift/repair-deps.ts';
import type { Logger } from '../logger.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { IntakeDeps } from './file-intake.ts';
import type { FlushDeps } from './flush.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { PollDeps } from './status-poller.ts';

/** What the worker's lifecycle (worker.ts) is given ready by the composition root (compose.ts). */

/** The configuration the lifecycle reads itself (compose.ts picks it from the worker's configuration). */
export interface WorkerSettings {
  landingBucket: string;
  landingPrefix: string;
  syncedPrefix: string;
  queueUrl: string;
  dlqUrl: string | undefined;
  quietMs: number;
  maxHoldMs: number;
  windowMaxItems: number;
  maxHeldMessages: number;
  visibilityTimeoutS: number;
  shutdownGraceMs: number;
  maxReceiveCount: number;
  sqsWaitTimeS: number;
  authAlertIntervalMs: number;
  authProbeIntervalMs: number;
}

/** The ready collaborators (compose.ts). */
export interface WorkerParts {
  settings: WorkerSettings;
  sqs: SQSClient;
  client: CatalogClient;
  logger: Logger;
  metrics: ServiceMetrics | undefined;
  now: () => number;
  manifests: ManifestStore;
  intake: IntakeDeps;
  flush: FlushDeps;
  poll: PollDeps;
  repair: RepairDeps;
  inspect: InspectDeps;
}
