import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { destinationFor, type Destination } from '../destination.ts';
import type { InspectDeps } from '../drift/inspect.ts';
import type { RepairDeps } from '../drift/repair-deps.ts';
import { GuardrailHistory } from '../guardrails/history-store.ts';
import { createWindowGuard, type GuardrailConfig } from '../guardrails/window-check.ts';
import { readProducts } from '../ingest/csv-reader.ts';
import type { IngestOptions } from '../ingest/types.ts';
import { registerSecret, type Logger } from '../logger.ts';
import { CallBudget } from '../meta/call-budget.ts';
import { createCatalogClient } from '../meta/items-batch-client.ts';
import { secretsManagerToken } from '../meta/secrets-manager-token.ts';
import { fixedToken, type TokenSource } from '../meta/token-source.ts';
import type { CatalogClient } from '../meta/types.ts';
import { createMetrics, WORKER_SERVICE, type ServiceMetrics } from '../metrics.ts';
import { sleep } from '../shared/backoff.ts';
import { CatalogLease } from '../state/catalog-lease.ts';
import { createStateStore } from '../state/state-store.ts';
import type { IntakeDeps, RowReader } from './file-intake.ts';
import type { FlushDeps } from './flush.ts';
import { ManifestStore } from './manifest-store.ts';
import { writeMetaReport, writeRowReport, writeUnknownReport } from './reports.ts';
import { resendUnknown } from './resend.ts';
import type { PollDeps } from './status-poller.ts';
import { Worker, type WorkerSettings } from './worker.ts';

/**
 * The worker's composition root: every collaborator (state store, lease, manifests, the send paths'
 * shared gate, flush, poll, drift and intake dependencies) is built here from the configuration and the
 * clients handed in, so Worker (worker.ts) receives them ready. `src/commands/worker.ts` builds the AWS
 * and Meta clients from the environment and calls `composeWorker`; tests and the bench call it with theirs.
 * The catalog, currency and token come from the destination seam (src/destination.ts).
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
  };
  const state = createStateStore(c, { s3, dynamodb: deps.dynamodb });
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

/**
 * The worker of `catalog-sync worker`: its AWS clients, call budget, Meta client and metrics from the
 * configuration (src/commands/worker.ts reads the environment and passes what it decided).
 */
export async function buildConfiguredWorker(
  config: Config,
  logger: Logger,
  options: { forcePathStyle: boolean },
): Promise<Worker> {
  registerSecret(config.accessToken);
  registerSecret(config.appSecret);
  const region = config.awsRegion;
  const destination = destinationFor(config);
  const s3 = new S3Client({ region, forcePathStyle: options.forcePathStyle });
  const sqs = new SQSClient({ region });
  // One budget for the client and the catalog lease: it travels with the lease, so all tasks share one quota.
  const budget = new CallBudget({
    hourlyCallBudget: config.hourlyCallBudget,
    throttleRetryMinMs: config.throttleRetryMinMs,
    throttleRetryMaxMs: config.throttleRetryMaxMs,
  });
  const client = createCatalogClient({
    budget,
    graphUrl: config.graphUrl,
    apiVersion: destination.apiVersion,
    catalogId: destination.catalogId,
    tokenSource: await tokenSourceFor({ ...destination, awsRegion: region }, logger),
    appSecret: config.appSecret,
    throttleRetryMinMs: config.throttleRetryMinMs,
    throttleRetryMaxMs: config.throttleRetryMaxMs,
    hourlyCallBudget: config.hourlyCallBudget,
    maxRetries: config.maxRetries,
    requestTimeoutMs: config.requestTimeoutMs,
    maxPayloadBytes: config.maxPayloadBytes,
    batchMaxItems: config.batchMaxItems,
    logger: logger.child({ component: 'graph' }),
  });
  const metrics = createMetrics({ namespace: config.metricsNamespace, service: WORKER_SERVICE });
  return composeWorker({ config, s3, sqs, client, budget, readRows: readProducts, logger, metrics });
}

/**
 * Where a destination's token comes from: as given, or the Secrets Manager secret, read now (a failure
 * stops the start-up, as a missing variable would) and again by the client's refreshCredentials().
 */
export async function tokenSourceFor(
  destination: Pick<Destination, 'token'> & { awsRegion: Config['awsRegion'] },
  logger: Logger,
): Promise<TokenSource> {
  const { token } = destination;
  if (token.kind === 'secrets-manager') {
    return secretsManagerToken({
      secretId: token.secretId,
      region: destination.awsRegion,
      logger: logger.child({ component: 'token-source' }),
    });
  }
  if (token.kind === 'none') throw new Error('META_ACCESS_TOKEN or META_ACCESS_TOKEN_SECRET_ID is required');
  return fixedToken(token.accessToken);
}
