import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { opsClients } from './aws-clients.ts';
import { liveState } from '../plan/live-state.ts';
import { exportState } from '../plan/state-export.ts';

/**
 * `catalog-sync state export <dir|file.json>`: the product state (with the item last sent for each
 * product and the guardrail history) written out for `catalog-sync plan --state`, e.g. to plan files in a
 * producer's CI without access to the synced bucket (src/plan/state-export.ts). Reads only.
 */
export function registerState(program: Command): void {
  const state = program
    .command('state')
    .summary('the product state: export it for offline plans')
    .description('What catalog-sync knows it sent for each product (the product state in SYNCED_BUCKET).');
  state
    .command('export')
    .description(
      'Writes the product state, the item last sent for each product Meta accepted and the guardrail ' +
        'history to a directory (or one .json file), for `catalog-sync plan --state`. Reads only.',
    )
    .argument(
      '<dir|file.json>',
      'where to write: a directory (created), or a path ending in .json for one file',
    )
    .option('--no-items', 'leave out the last sent items (smaller; plans then show no field changes)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync state export ./state                the whole state, one file per shard
  catalog-sync state export state.json --no-items  one file, without the items (no field diffs in plans)
  catalog-sync plan products.csv --state ./state   plan offline against it

The last sent items come from the batch payloads (synced/batches/), read once per payload; payloads
expire with the retention (RetentionDays), so products last sent before that have no item in the export.
Reads SYNCED_BUCKET and SYNCED_PREFIX (and STATE_STORE, STATE_TABLE: the state's store).`,
    )
    .action(async (path: string, flags: { items: boolean; json?: boolean }) => {
      const env = process.env;
      const cfg = loadConfig(env, ['awsRegion']);
      const { s3, sqs } = opsClients(cfg.awsRegion, env);
      try {
        const summary = await exportState(liveState(env, s3), path, {
          withItems: flags.items,
          now: Date.now(),
        });
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `Exported ${summary.products} products (${summary.shards} shards) to ${summary.path}` +
                (flags.items
                  ? `, with ${summary.items} last sent items` +
                    (summary.itemsMissing > 0 ? ` (${summary.itemsMissing} no longer stored)` : '')
                  : ', without items') +
                `.\nPlan against it: catalog-sync plan <file.csv> --state ${summary.path}\n`,
        );
      } finally {
        s3.destroy();
        sqs.destroy();
      }
    });
}
