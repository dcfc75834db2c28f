import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { armFailpoints } from '../failpoints.ts';
import { readProducts } from '../ingest/csv-reader.ts';
import { createLogger, registerSecret, type Logger } from '../logger.ts';
import { CallBudget } from '../meta/call-budget.ts';
import { createCatalogClient } from '../meta/items-batch-client.ts';
import { secretsManagerToken } from '../meta/secrets-manager-token.ts';
import { fixedToken, type TokenSource } from '../meta/token-source.ts';
import { createMetrics, WORKER_SERVICE } from '../metrics.ts';
import { Worker } from '../worker/worker.ts';

/**
 * `catalog-sync worker`: builds the worker's dependencies from the environment and runs it until
 * SIGTERM/SIGINT, then flushes or releases held work within SHUTDOWN_GRACE_MS and exits 0.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      "Consume the S3 event queue: read each CSV into its UTC-hour window, send changed products with Meta's " +
        'items_batch when the window goes quiet, and follow every batch to its final status. Runs until SIGTERM or SIGINT.',
    )
    .addHelpText(
      'after',
      '\nConfiguration comes from environment variables (see .env.example); the ones the worker uses most:\n' +
        '  LANDING_BUCKET, SYNCED_BUCKET, QUEUE_URL, DLQ_URL, META_CATALOG_ID,\n' +
        '  META_ACCESS_TOKEN or META_ACCESS_TOKEN_SECRET_ID, AUTH_PROBE_INTERVAL_MS,\n' +
        '  CATALOG_CURRENCY, DEBOUNCE_QUIET_MS, DEBOUNCE_MAX_HOLD_MS, VISIBILITY_TIMEOUT_S, SHUTDOWN_GRACE_MS.',
    )
    .action(async () => {
      const config = loadConfig();
      armFailpoints(process.env.CATALOG_SYNC_FAILPOINTS, process.env.NODE_ENV === 'production');
      await runWorker(config);
    });
}

/**
 * Where the token comes from: META_ACCESS_TOKEN as given, or the Secrets Manager secret, read now (a
 * failure stops the start-up, as a missing variable would) and again by the client's refreshCredentials().
 */
export async function tokenSourceFor(
  config: Pick<Config, 'accessToken' | 'accessTokenSecretId' | 'awsRegion'>,
  logger: Logger,
): Promise<TokenSource> {
  if (config.accessTokenSecretId) {
    return secretsManagerToken({
      secretId: config.accessTokenSecretId,
      region: config.awsRegion,
      logger: logger.child({ component: 'token-source' }),
    });
  }
  if (!config.accessToken) throw new Error('META_ACCESS_TOKEN or META_ACCESS_TOKEN_SECRET_ID is required');
  return fixedToken(config.accessToken);
}

export async function buildWorker(config: Config, logger: Logger): Promise<Worker> {
  registerSecret(config.accessToken);
  registerSecret(config.appSecret);
  const region = config.awsRegion;
  // AWS_ENDPOINT_URL (read by the SDK itself) points both clients at a local emulator.
  const s3 = new S3Client({ region, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
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
    apiVersion: config.apiVersion,
    catalogId: config.catalogId,
    tokenSource: await tokenSourceFor(config, logger),
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
  return new Worker({ config, s3, sqs, client, budget, readRows: readProducts, logger, metrics });
}

async function runWorker(config: Config): Promise<void> {
  const logger = createLogger({ level: config.logLevel, defaultMeta: { component: 'worker' } });
  const worker = await buildWorker(config, logger);
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info('signal received; shutting down', { signal });
      worker.stop().then(resolve, (err: unknown) => {
        logger.error('shutdown failed', { err });
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  worker.start();
  await stopped;
  // Every held message is flushed or released by now. An aborted long poll can still hold a socket for up
  // to SQS_WAIT_TIME_S, so exit explicitly rather than wait for the event loop to drain (stdout and files
  // are written synchronously on Linux, so no log line is lost).
  process.exit(0);
}
