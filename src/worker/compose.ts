import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { destinationFor } from '../destination.ts';
import type { InspectDeps } from '../drift/inspect.ts';
import type { RepairDeps } from '../drift/repair-deps.ts';
import { GuardrailHistory } from '../guardrails/history-store.ts';
import { createWindowGuard, type GuardrailConfig } from '../guardrails/window-check.ts';
import type { IngestOptions } from '../ingest/types.ts';
import type { Logger } from '../logger.ts';
import type { CallBudget } from '../meta/call-budget.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { sleep } from '../shared/backoff.ts';
import { CatalogLease } from '../state/catalog-lease.ts';
import { createStateStore } from '../state/state-store.ts';
import type { IntakeDeps, RowReader } from './file-intake.ts';
import type { FlushDeps } from './flush.ts';
import { ManifestStore } from './manifest-store.ts';
import { writeMetaReport, writeRowReport, writeUnknownReport } from './reports.ts';
import { resendUnknown } from './resend.ts';
import type { PollDeps } from './status-poller.ts';
import type { WorkerSettings } from './worker-parts.ts';
import { Worker } from './worker.ts';

/**
 * The worker's composition root: every collaborator (state store, lease, manifests, the send paths'
 * shared gate, flush, poll, drift and intake dependencies) is built here from the configuration and the
 * clients handed in, so Worker (worker.ts) receives them ready. `catalog-sync worker` builds the AWS and
 * Meta clients from the configuration (configured-worker.ts) and calls `composeWorker`; tests and the
 * bench call it with theirs. The catalog, currency and token come from the destination seam
 * (src/destination.ts).
 */

export type WorkerConfig = Pick<
  Config,
  | 'landingBucket'
  | 'landingPrefix'
  | 'syncedBucket'
  | 'syncedPrefix'
  | 'stateStore'
  | 'stateTable'
  | 'errorsPrefix'
  | 'queueUrl'
  | 'dlqUrl'
  | 'catalogId'
  | 'currency'
  | 'apiVersion'
  | 'accessToken'
  | 'accessTokenSecretId'
  | 'columnMap'
  | 'defaultCondition'
  | 'titleMaxLength'
  | 'descriptionMaxLength'
  | 'batchMaxItems'
  | 'maxPayloadBytes'
  | 'quietMs'
  | 'maxHoldMs'
  | 'windowMaxItems'
  | 'maxFileProducts'
  | 'spoolDir'
  | 'maxHeldMessages'
  | 'visibilityTimeoutS'
  | 'shutdownGraceMs'
  | 'statusPollInitialMs'
  | 'statusPollMaxMs'
  | 'statusPollDeadlineMs'
  | 'maxReceiveCount'
  | 'sqsWaitTimeS'
  | 'flushRetryMaxMs'
  | 'authAlertIntervalMs'
  | 'authProbeIntervalMs'
  | 'requestTimeoutMs'
  | 'leaseTtlMs'
  | 'unsentSettleMs'
  | 'unknownRetryMax'
  | 'unknownRetryBaseMs'
  | 'versionColumn'
  | 'driftFields'
  | 'driftPageSize'
  | 'driftConfirmMax'
  | 'driftBudgetReserve'
  | 'driftDeleteOrphans'
  | 'driftDeleteMax'
> &
  GuardrailConfig;

export interface WorkerDeps {
  config: WorkerConfig;
  s3: S3Client;
  sqs: SQSClient;
  /** For STATE_STORE=dynamodb; built from the environment when not given. */
  dynamodb?: DynamoDBClient;
  client: CatalogClient;
  readRows: RowReader;
  logger: Logger;
  metrics?: ServiceMetrics;
  now?: () => number;
  /** The client's call budget; shared with the other tasks through the catalog lease when given. */
  budget?: CallBudget;
}

/** Spool files live in a folder of their own, so the start-up clean-up only looks at ours. */
export function spoolDirOf(c: Pick<WorkerConfig, 'spoolDir'>): string {
  return path.join(c.spoolDir, 'catalog-sync-spool');
}

export function composeWorker(deps: WorkerDeps): Worker {
  const c = deps.config;
  const now = deps.now ?? Date.now;
  const { s3, client, logger, metrics, budget } = deps;
  const destination = destinationFor(c);
  const manifests = new ManifestStore({ s3, bucket: c.syncedBucket, now });
  const ingest: IngestOptions = {
    currency: destination.currency,
    columnMap: c.columnMap,
    defaultCondition: c.defaultCondition,
    titleMaxLength: c.titleMaxLength,
    descriptionMaxLength: c.descriptionMaxLength,
    versionColumn: c.versionColumn,
  };
  const reports = { s3, bucket: c.syncedBucket, errorsPrefix: c.errorsPrefix };
  const intake: IntakeDeps = {
    s3,
    readRows: deps.readRows,
    ingest,
    writeReport: (r) => writeRowReport(reports, r, now()),
    maxFileProducts: c.maxFileProducts,
    spoolDir: spoolDirOf(c),
  };
  const state = createStateStore(c, { s3, dynamodb: deps.dynamodb });
  // Which store holds the send gate's state is the first thing to know when reading a worker's log.
  logger.info('product state store', {
    stateStore: c.stateStore,
    ...(c.stateStore === 'dynamodb' ? { stateTable: c.stateTable } : {}),
  });
  const lease = new CatalogLease({
    s3,
    bucket: c.syncedBucket,
    syncedPrefix: c.syncedPrefix,
    catalogId: destination.catalogId,
    ttlMs: c.leaseTtlMs,
    now,
    // The call budget travels with the lease, so every task holding it spends from one hourly quota.
    ...(budget
      ? {
          sharedCalls: {
            load: (times: readonly number[]) => budget.adopt(times),
            save: () => budget.callTimes(),
          },
        }
      : {}),
  });
  // What every send path shares: the gate's inputs and the lease (flush.ts, resend.ts, drift, release).
  const gate = {
    client,
    state,
    manifests,
    lease,
    logger,
    now,
    sleep,
    syncedPrefix: c.syncedPrefix,
    requestTimeoutMs: c.requestTimeoutMs,
    unsentSettleMs: c.unsentSettleMs,
    waitDeadlineMs: c.statusPollDeadlineMs,
    waitInitialMs: c.statusPollInitialMs,
    waitMaxMs: c.statusPollMaxMs,
    metrics,
  };
  const history = new GuardrailHistory(
    { s3, bucket: c.syncedBucket, syncedPrefix: c.syncedPrefix, state },
    now,
  );
  const repair: RepairDeps = {
    ...gate,
    s3,
    bucket: c.syncedBucket,
    catalogId: destination.catalogId,
    batchMaxItems: c.batchMaxItems,
    maxPayloadBytes: c.maxPayloadBytes,
    fields: c.driftFields,
    budgetReserve: c.driftBudgetReserve,
    deleteOrphans: c.driftDeleteOrphans,
    deleteMax: c.driftDeleteMax,
    history,
  };
  const inspect: InspectDeps = {
    s3,
    bucket: c.syncedBucket,
    syncedPrefix: c.syncedPrefix,
    client,
    state,
    logger,
    now,
    fields: c.driftFields,
    pageSize: c.driftPageSize,
    confirmMax: c.driftConfirmMax,
  };
  const flush: FlushDeps = {
    ...gate,
    guard: createWindowGuard({ history, config: c, logger }),
    catalogId: destination.catalogId,
    batchMaxItems: c.batchMaxItems,
    maxPayloadBytes: c.maxPayloadBytes,
    abandonAfterMs: c.visibilityTimeoutS * 1000,
    // DynamoDB reads per key, so the flush walks the window a batch at a time; S3 shards are read whole.
    stateSlice: c.stateStore === 'dynamodb' ? c.batchMaxItems : undefined,
    retry: { initialMs: Math.min(1000, c.flushRetryMaxMs), maxMs: c.flushRetryMaxMs },
  };
  const poll: PollDeps = {
    client,
    manifests,
    state,
    logger,
    now,
    initialMs: c.statusPollInitialMs,
    maxMs: c.statusPollMaxMs,
    deadlineMs: c.statusPollDeadlineMs,
    unknownRetryMax: c.unknownRetryMax,
    unknownRetryBaseMs: c.unknownRetryBaseMs,
    resend: (key, signal) => resendUnknown(gate, key, signal),
    writeMetaReport: (m, rejected) => writeMetaReport(reports, m, rejected, now()),
    writeUnknownReport: (m, items) => writeUnknownReport(reports, m, items, now()),
    metrics,
  };
  return new Worker({
    settings: workerSettings(c),
    sqs: deps.sqs,
    client,
    logger,
    metrics,
    now,
    manifests,
    intake,
    flush,
    poll,
    repair,
    inspect,
  });
}

/** The part of the configuration the lifecycle itself reads (timings, queues, limits). */
export function workerSettings(c: WorkerConfig): WorkerSettings {
  return {
    landingBucket: c.landingBucket,
    landingPrefix: c.landingPrefix,
    syncedPrefix: c.syncedPrefix,
    queueUrl: c.queueUrl,
    dlqUrl: c.dlqUrl,
    quietMs: c.quietMs,
    maxHoldMs: c.maxHoldMs,
    windowMaxItems: c.windowMaxItems,
    maxHeldMessages: c.maxHeldMessages,
    visibilityTimeoutS: c.visibilityTimeoutS,
    shutdownGraceMs: c.shutdownGraceMs,
    maxReceiveCount: c.maxReceiveCount,
    sqsWaitTimeS: c.sqsWaitTimeS,
    authAlertIntervalMs: c.authAlertIntervalMs,
    authProbeIntervalMs: c.authProbeIntervalMs,
  };
}
