import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadHeld, planRelease, requestRelease, type ReleasePlan } from '../guardrails/held-ops.ts';
import { whoAmI } from './operator-name.ts';
import { heldStore } from './held-store.ts';
import { positiveInt, resolveQueueUrl } from '../ops/cli-args.ts';
import { liveState } from '../plan/live-state.ts';
import { recentHours } from '../shared/hours.ts';

/**
 * `catalog-sync release <manifest>`: send a window a guardrail held, as it is. Only the worker talks to
 * Meta, so this enqueues a `catalog-sync.release` message; the worker sends the held batches through the
 * send gate under the catalog lease and records who released it (src/guardrails/release.ts).
 */

/** Held windows wait for an operator; a week back covers a long weekend. */
export const HELD_HOURS = 24 * 7;
const MAX_HOURS = 24 * 31;

export function hoursOption(): Option {
  return new Option(
    '--hours <n>',
    `how many UTC hours back to look for a manifest given by id (up to ${MAX_HOURS})`,
  )
    .default(HELD_HOURS)
    .argParser((raw) => {
      const n = positiveInt('--hours')(raw);
      if (n > MAX_HOURS) throw new InvalidArgumentError(`--hours must be at most ${MAX_HOURS}.`);
      return n;
    });
}

export function renderReleasePlan(p: ReleasePlan): string {
  const items = p.send.reduce((n, b) => n + b.ids.length, 0);
  const lines = [
    `Manifest ${p.manifestId} (${p.key}) is held:`,
    ...p.rules.map((r) => `  - ${r}`),
    `Released now, the worker would send ${items} item(s) in ${p.calls} items_batch call(s).`,
  ];
  if (p.superseded.length > 0)
    lines.push(`  ${p.superseded.length} item(s) not sent: newer data for them was sent since (superseded).`);
  if (p.unchanged.length > 0)
    lines.push(`  ${p.unchanged.length} item(s) not sent: identical to what Meta accepted last.`);
  if (p.waiting.length > 0)
    lines.push(`  ${p.waiting.length} item(s) wait first for an earlier send of them to finish at Meta.`);
  return lines.join('\n');
}

export function registerRelease(program: Command): void {
  program
    .command('release')
    .summary('send a window a guardrail held, as it is')
    .description(
      'Asks the worker to send a held manifest as it is: its batches go through the send gate under the ' +
        "catalog lease (an item a newer row overtook meanwhile is not sent), then are followed to Meta's final " +
        'status like any flush. The manifest records who released it. Only the worker talks to Meta: this ' +
        'enqueues a catalog-sync.release message on QUEUE_URL.',
    )
    .argument('<manifest>', 'the held manifest: its key (synced/manifests/…) or its id')
    .option('--dry-run', 'say what the release would send, and send nothing')
    .option('--by <who>', 'who releases it (default: the OS user)')
    .option('--json', 'print the result as JSON')
    .option('--queue-url <url>', 'the worker queue (default: QUEUE_URL)')
    .addOption(hoursOption())
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync status                                          held windows are listed with their rules
  catalog-sync release 2026-11-25T17-mb3x9k-1a2b3c4d --dry-run what would be sent
  catalog-sync release 2026-11-25T17-mb3x9k-1a2b3c4d --by alice
  catalog-sync status --manifest 2026-11-25T17-mb3x9k-1a2b3c4d follow it

Exit status: 0 done (or dry run), 1 the manifest is not held or cannot be read, 2 bad configuration.
Reads SYNCED_BUCKET (SYNCED_PREFIX) and QUEUE_URL.`,
    )
    .action(
      async (
        manifest: string,
        flags: { dryRun?: boolean; by?: string; json?: boolean; queueUrl?: string; hours: number },
      ) => {
        const env = process.env;
        const queueUrl = flags.dryRun ? '' : resolveQueueUrl('queueUrl', flags.queueUrl, env);
        const { s3, sqs, store } = heldStore(env);
        try {
          const held = await loadHeld(store, manifest, recentHours(new Date(), flags.hours), 'release');
          const plan = await planRelease(liveState(env, s3), held, Date.now());
          const by = whoAmI(flags.by);
          if (flags.dryRun) {
            process.stdout.write(
              flags.json
                ? `${JSON.stringify({ dryRun: true, by, ...plan }, null, 2)}\n`
                : `${renderReleasePlan(plan)}\nDry run: nothing was sent (release without --dry-run to send it).\n`,
            );
            return;
          }
          const sent = await requestRelease(sqs, queueUrl, held, by, Date.now());
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ dryRun: false, by, messageId: sent.messageId, ...plan }, null, 2)}\n`
              : `${renderReleasePlan(plan)}\nRelease requested by ${by} (message ${sent.messageId}): the worker sends it ` +
                  `and records the release.\nFollow it: catalog-sync status --manifest ${held.manifest.value.manifestId}\n`,
          );
        } finally {
          s3.destroy();
          sqs.destroy();
        }
      },
    );
}
