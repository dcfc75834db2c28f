import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { armFailpoints } from '../failpoints.ts';
import { createLogger, type Logger } from '../logger.ts';
import { buildConfiguredWorker } from '../worker/configured-worker.ts';
import type { Worker } from '../worker/worker.ts';

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
      const config = loadConfig(process.env);
      armFailpoints(process.env.CATALOG_SYNC_FAILPOINTS, process.env.NODE_ENV === 'production');
      await runWorker(config);
    });
}

async function buildWorker(config: Config, logger: Logger): Promise<Worker> {
  // AWS_ENDPOINT_URL (read by the SDK itself) points the clients at a local emulator; S3 then needs path style.
  return buildConfiguredWorker(config, logger, { forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
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
