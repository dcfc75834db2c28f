import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { GUARDRAIL_CONFIG_KEYS } from '../guardrails/window-check.ts';
import { loadIngestOptions } from '../ingest/options.ts';
import { opsClients } from './aws-clients.ts';
import { planFile } from '../plan/plan.ts';
import { EXIT_UNUSABLE, planExitCode, renderPlan } from '../plan/render.ts';
import { liveState } from '../plan/live-state.ts';
import { measuringClient, planDestination } from '../plan/measuring-client.ts';
import { exportSource, liveSource } from '../plan/state-source.ts';
import { createProgress } from '../progress.ts';
import { countProgress } from './validate.ts';

/**
 * `catalog-sync plan <file.csv>`: what the file would do against the current product state, sending
 * nothing (src/plan/plan.ts). Against the synced bucket (SYNCED_BUCKET), or offline against an export
 * (`--state`, from `catalog-sync state export`), so it can run in a producer's CI before the upload.
 */

const HELP_AFTER = `
What it prints: new products; changed products with every field that changes (old → new, prices with
their relative change); unchanged rows and rows older than what was sent (neither is sent); rejected rows
with their line and reason; the items_batch calls the worker would spend on this file (its own chunking);
and whether a guardrail would hold the window (GUARDRAIL_* variables, see .env.example).

Exit codes:
  0  the plan is made; every row is valid and no guardrail would trip
  1  some rows are rejected (the others would be sent)
  2  the file is unusable as a whole, or the plan could not be made (configuration, no access, bad --state)
  3  a guardrail would hold the window: nothing would be sent until \`catalog-sync release\`

Examples:
  catalog-sync plan exports/products.csv                       against the live state (SYNCED_BUCKET)
  catalog-sync plan exports/products.csv --json | jq .counts
  catalog-sync state export ./state && catalog-sync plan products.csv --state ./state
                                                               offline, e.g. in the producer's CI

The file is placed at this moment, under --key (default: LANDING_PREFIX + its file name). With
VERSION_COLUMN set, row versions decide what is older, as in the worker. Reads COLUMN_MAP,
CATALOG_CURRENCY, META_BATCH_MAX_ITEMS, META_MAX_PAYLOAD_BYTES and META_APP_SECRET (the body size), and
STATE_STORE and STATE_TABLE (where the live state is) too.`;

interface PlanFlags {
  json?: boolean;
  state?: string;
  key?: string;
  currency?: string;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .summary('what a CSV file would change in the catalog, without sending anything')
    .description(
      'Reads a CSV file as the worker would and compares it with the product state: new, changed (with the ' +
        'fields that change), unchanged, older and rejected rows, the items_batch calls it would cost, and ' +
        'whether a guardrail would hold it. Sends nothing and writes nothing.',
    )
    .argument('<file.csv>', 'the CSV file to plan')
    .option('--json', 'print the plan as JSON (every item, every field change)')
    .option(
      '--state <dir|file>',
      'plan against a state export (`catalog-sync state export`) instead of SYNCED_BUCKET',
    )
    .option(
      '--key <landing key>',
      'the key the file would be uploaded under (default LANDING_PREFIX + file name)',
    )
    .option('--currency <code>', 'ISO 4217 currency for bare prices (default: CATALOG_CURRENCY)')
    .addHelpText('after', HELP_AFTER)
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_UNUSABLE, err.code, err.message);
    })
    .action(async (file: string, flags: PlanFlags) => {
      const env = process.env;
      try {
        statSync(file);
      } catch (err) {
        console.error(`catalog-sync plan: cannot read ${file}: ${(err as Error).message}`);
        process.exitCode = EXIT_UNUSABLE;
        return;
      }
      const { options: ingest } = loadIngestOptions(env, flags.currency);
      const cfg = loadConfig(env, [
        'versionColumn',
        'landingPrefix',
        'batchMaxItems',
        'maxPayloadBytes',
        'appSecret',
        'apiVersion',
        ...GUARDRAIL_CONFIG_KEYS,
      ]);
      const destination = planDestination(cfg, ingest.currency);
      const client = measuringClient(destination, cfg);
      let clients: ReturnType<typeof opsClients> | null = null;
      // On a terminal: bytes and lines read, rate and time left on stderr (validate's progress line).
      const progress = createProgress({
        label: `plan ${file}`,
        unit: 'bytes',
        total: statSync(file).size,
        enabled: !flags.json,
      });
      try {
        let source;
        if (flags.state) source = exportSource(flags.state);
        else {
          clients = opsClients(loadConfig(env, ['awsRegion']).awsRegion, env);
          source = liveSource(liveState(env, clients.s3));
        }
        const report = await planFile(source, {
          file,
          key: flags.key ?? `${cfg.landingPrefix}${basename(file)}`,
          open: () =>
            progress.active ? countProgress(createReadStream(file), progress) : createReadStream(file),
          bytes: statSync(file).size,
          ingest: { ...ingest, currency: destination.currency, versionColumn: cfg.versionColumn },
          client,
          batchMaxItems: cfg.batchMaxItems,
          maxPayloadBytes: cfg.maxPayloadBytes,
          guardrails: cfg,
          now: Date.now(),
        });
        progress.finish();
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderPlan(report));
        process.exitCode = planExitCode(report);
      } catch (err) {
        progress.finish();
        console.error(
          `catalog-sync plan: ${(err as Error).message}` +
            (flags.state
              ? ''
              : '\n(plan reads SYNCED_BUCKET; or pass --state with an export to plan offline)'),
        );
        process.exitCode = EXIT_UNUSABLE;
      } finally {
        clients?.s3.destroy();
        clients?.sqs.destroy();
      }
    });
}
