import type { SQSClient } from '@aws-sdk/client-sqs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { opsClients } from './aws-clients.ts';
import { positiveInt, resolveQueueUrl } from '../ops/cli-args.ts';
import { recentHours } from '../shared/hours.ts';
import { readDriftStatus, renderDriftStatus } from '../drift/status-section.ts';
import { readHeldWindows, renderHeldWindows } from '../guardrails/status-section.ts';
import { queueDepth } from '../ops/queue-depth.ts';
import { renderManifest, renderOverview, renderProduct, type QueueStatus } from '../ops/status-render.ts';
import {
  readManifestDetail,
  readProductReport,
  readRecentManifests,
  type StatusStore,
} from '../ops/status-report.ts';

interface StatusFlags {
  json?: boolean;
  hours: number;
  manifest?: string;
  product?: string;
}

/** Manifests, reports and the DLQ are kept 14–30 days; further back there is nothing to find. */
const MAX_HOURS = 24 * 31;

async function queueStatus(sqs: SQSClient, env: NodeJS.ProcessEnv): Promise<QueueStatus> {
  const status: QueueStatus = { queue: null, dlq: null, notes: [] };
  for (const which of ['queueUrl', 'dlqUrl'] as const) {
    const name = which === 'queueUrl' ? 'QUEUE_URL' : 'DLQ_URL';
    if (!env[name]?.trim()) {
      status.notes.push(`${name} is not set: its depth is not shown.`);
      continue;
    }
    try {
      status[which === 'queueUrl' ? 'queue' : 'dlq'] = await queueDepth(
        sqs,
        resolveQueueUrl(which, undefined, env),
      );
    } catch (err) {
      status.notes.push(`could not read the depth of ${name}: ${(err as Error).message}`);
    }
  }
  return status;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .summary('recent windows/manifests, per-item outcome counts, queue and DLQ depth')
    .description(
      'Shows what the worker did recently: one row per manifest (a flushed debounce window) with its files, items ' +
        "sent, items_batch calls and Meta's per-item outcome, then the depth of the event queue and its DLQ. " +
        '--manifest shows one manifest in full; --product answers whether one product reached Meta, when, and if not why.',
    )
    .option('--json', 'print the report as JSON for scripts')
    .addOption(
      new Option('--hours <n>', `how many UTC hours back to look, up to ${MAX_HOURS}`)
        .default(24)
        .argParser((raw) => {
          const n = positiveInt('--hours')(raw);
          if (n > MAX_HOURS)
            throw new InvalidArgumentError(`--hours must be at most ${MAX_HOURS} (data is kept 30 days).`);
          return n;
        }),
    )
    .addOption(
      new Option(
        '--manifest <key|id>',
        'show one manifest: sources, batches with handle and status, rejected ids',
      ),
    )
    .addOption(
      new Option(
        '--product <id>',
        'did this product (retailer id) reach Meta, when, and if not why',
      ).conflicts('manifest'),
    )
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync status                                   the last 24 hours and queue depths
  catalog-sync status --hours 6 --json | jq '.manifests[] | select(.unknown > 0)'
  catalog-sync status --manifest 2026-11-25T17-3f9c2a   one manifest (by id, searched in --hours)
  catalog-sync status --manifest synced/manifests/2026-11-25T17/2026-11-25T17-3f9c2a.json
  catalog-sync status --product SKU-1234                did SKU-1234 reach Meta?

Reads SYNCED_BUCKET (with SYNCED_PREFIX and ERRORS_PREFIX), and QUEUE_URL and DLQ_URL for the depths.`,
    )
    .action(async (flags: StatusFlags) => {
      const env = process.env;
      const cfg = loadConfig(env, ['awsRegion', 'syncedBucket', 'syncedPrefix', 'errorsPrefix']);
      const { s3, sqs } = opsClients(cfg.awsRegion, env);
      const store: StatusStore = {
        s3,
        bucket: cfg.syncedBucket,
        syncedPrefix: cfg.syncedPrefix,
        errorsPrefix: cfg.errorsPrefix,
      };
      const now = new Date();
      const hours = recentHours(now, flags.hours);
      const print = (human: string, data: unknown) =>
        process.stdout.write(flags.json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
      try {
        if (flags.product !== undefined) {
          const report = await readProductReport(store, flags.product, hours);
          print(renderProduct(report), report);
        } else if (flags.manifest !== undefined) {
          const detail = await readManifestDetail(store, flags.manifest, hours);
          // Held, released or discarded by an operator (src/guardrails/): who, when and why.
          const m = detail.manifest as { held?: unknown; released?: unknown; discarded?: unknown };
          const extra = [
            ...(m.held ? [`  held: ${JSON.stringify(m.held)}`] : []),
            ...(m.released ? [`  released: ${JSON.stringify(m.released)}`] : []),
            ...(m.discarded ? [`  discarded: ${JSON.stringify(m.discarded)}`] : []),
          ];
          print([renderManifest(detail), ...extra].join('\n'), detail);
        } else {
          const [manifests, queues] = await Promise.all([
            readRecentManifests(store, hours),
            queueStatus(sqs, env),
          ]);
          // Extras of guardrails and drift: a report this role may not read is a note, not a failure.
          const notes: string[] = [];
          const [held, drift] = await Promise.all([
            readHeldWindows(store, manifests).catch((err: Error) => {
              notes.push(`could not read the held windows: ${err.message}`);
              return [];
            }),
            readDriftStatus(store).catch((err: Error) => {
              notes.push(`could not read the newest drift report (synced/drift/): ${err.message}`);
              return null;
            }),
          ]);
          const overview = { generatedAt: now.toISOString(), hours: flags.hours, manifests, queues };
          print(
            [
              renderOverview(overview),
              ...renderHeldWindows(held),
              ...renderDriftStatus(drift),
              ...notes,
            ].join('\n'),
            { ...overview, held, drift, notes },
          );
        }
      } finally {
        s3.destroy();
        sqs.destroy();
      }
    });
}
