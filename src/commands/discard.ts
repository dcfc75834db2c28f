import type { Command } from 'commander';
import { discardHeld, loadHeld } from '../guardrails/held-ops.ts';
import { whoAmI } from './operator-name.ts';
import { heldStore } from './held-store.ts';
import { recentHours } from '../shared/hours.ts';
import { hoursOption } from './release.ts';

/**
 * `catalog-sync discard <manifest> --reason "…"`: drop a window a guardrail held. Nothing of it is sent;
 * the manifest becomes `discarded` with who and why (a conditional write: a release the worker is taking
 * up at the same moment wins or loses as a whole). The DAG treats discarded as final and archives its
 * files (src/guardrails/held-ops.ts).
 */
export function registerDiscard(program: Command): void {
  program
    .command('discard')
    .summary('drop a window a guardrail held; nothing of it is sent')
    .description(
      'Marks a held manifest discarded, with who and why: nothing of it is sent, and the hourly DAG treats it ' +
        'as final, so its files move to archive/ (when no other manifest still needs them). Newer files for the ' +
        'same products are sent as usual.',
    )
    .argument('<manifest>', 'the held manifest: its key (synced/manifests/…) or its id')
    .requiredOption('--reason <text>', 'why it is dropped (recorded in the manifest)')
    .option('--dry-run', 'say what would be discarded, and change nothing')
    .option('--by <who>', 'who discards it (default: the OS user)')
    .option('--json', 'print the result as JSON')
    .addOption(hoursOption())
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync discard 2026-11-25T17-mb3x9k-1a2b3c4d --reason "export job zeroed prices" --dry-run
  catalog-sync discard 2026-11-25T17-mb3x9k-1a2b3c4d --reason "export job zeroed prices" --by alice

Exit status: 0 done (or dry run), 1 the manifest is not held or changed meanwhile, 2 bad configuration.
Reads SYNCED_BUCKET (SYNCED_PREFIX).`,
    )
    .action(
      async (
        manifest: string,
        flags: { reason: string; dryRun?: boolean; by?: string; json?: boolean; hours: number },
      ) => {
        if (flags.reason.trim() === '') {
          console.error('catalog-sync discard: --reason must say why the window is dropped');
          process.exitCode = 2;
          return;
        }
        const env = process.env;
        const { s3, sqs, store } = heldStore(env);
        try {
          const held = await loadHeld(store, manifest, recentHours(new Date(), flags.hours), 'discard');
          const m = held.manifest.value;
          const by = whoAmI(flags.by);
          const summary = {
            key: held.key,
            manifestId: m.manifestId,
            items: m.counts.items,
            batches: m.batches.length,
            files: m.sources.map((s) => s.key),
            rules: (m.held?.rules ?? []).map((r) => r.message),
            by,
            reason: flags.reason.trim(),
          };
          const head = [
            `Manifest ${m.manifestId} (${held.key}) is held:`,
            ...summary.rules.map((r) => `  - ${r}`),
            `Discarding drops its ${summary.items} item(s) in ${summary.batches} batch(es); nothing of it is sent.`,
            `Its files (${summary.files.join(', ') || 'none'}) are then archived by the hourly DAG.`,
          ].join('\n');
          if (flags.dryRun) {
            process.stdout.write(
              flags.json
                ? `${JSON.stringify({ dryRun: true, ...summary }, null, 2)}\n`
                : `${head}\nDry run: nothing was changed.\n`,
            );
            return;
          }
          const done = await discardHeld(s3, store.bucket, held, by, summary.reason, Date.now());
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ dryRun: false, ...summary, discarded: done.value.discarded }, null, 2)}\n`
              : `${head}\nDiscarded by ${by}: ${summary.reason}\n`,
          );
        } finally {
          s3.destroy();
          sqs.destroy();
        }
      },
    );
}
