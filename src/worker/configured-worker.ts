import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { tokenSourceFor } from '../destination-token.ts';
import { destinationFor } from '../destination.ts';
import { readProducts } from '../ingest/csv-reader.ts';
import { registerSecret, type Logger } from '../logger.ts';
import { CallBudget } from '../meta/call-budget.ts';
import { createCatalogClient } from '../meta/items-batch-client.ts';
import { createMetrics, WORKER_SERVICE } from '../metrics.ts';
import { composeWorker } from './compose.ts';
import type { Worker } from './worker.ts';

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
