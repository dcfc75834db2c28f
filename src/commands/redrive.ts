import { Option, type Command } from 'commander';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from '../config.ts';
import { opsClients } from './aws-clients.ts';
import { positiveInt, resolveQueueUrl } from '../ops/cli-args.ts';
import { s3MoveClaims } from '../ops/move-claims.ts';
import { runRedrive, type RedriveMode } from '../ops/redrive.ts';
import { queueDepth } from '../ops/queue-depth.ts';
import { redriveProgressSink } from '../ops/redrive-progress.ts';
import { exitCodeOf, renderOutcome } from '../ops/redrive-render.ts';
import { createProgress } from '../progress.ts';
import { redriveClaimsFolder } from '../contract/layout.ts';

interface RedriveFlags {
  list?: boolean;
  dryRun?: boolean;
  cancel?: boolean;
  match?: string;
  max?: number;
  json?: boolean;
  queueUrl?: string;
  dlqUrl?: string;
}

export function registerRedrive(program: Command): void {
  program
    .command('redrive')
    .summary('moves DLQ messages back to the queue, natively where the service can')
    .description(
      'Lists the messages in the dead-letter queue with why each failed, and moves all or some of them back to ' +
        "the event queue. An unfiltered redrive uses SQS's own message-move task and reports its progress; a " +
        'filtered one (--match, --max), or one on a service without move tasks (moto), receives, re-sends and ' +
        'deletes each message: sent first, deleted after, so none is lost, and held while it moves, so two ' +
        'operators running it at once never move the same message twice.',
    )
    .addOption(
      new Option(
        '--list',
        'list the DLQ messages (kind, key, receive count, first error) and change nothing',
      ),
    )
    .addOption(
      new Option('--dry-run', 'show what would be moved, and how, and change nothing').conflicts([
        'list',
        'cancel',
      ]),
    )
    .addOption(
      new Option(
        '--match <glob>',
        "only messages naming a matching key: the S3 object key(s), a straggler's key, or a re-check's manifest key",
      ).conflicts('cancel'),
    )
    .addOption(
      new Option('--max <n>', 'move (or list) at most N messages')
        .argParser(positiveInt('--max'))
        .conflicts('cancel'),
    )
    .addOption(
      new Option(
        '--cancel',
        'cancel the message-move task running on the DLQ (moved messages stay moved)',
      ).conflicts('list'),
    )
    .option(
      '--json',
      'print the result as JSON on stdout (no live progress line; event lines still go to stderr)',
    )
    .option('--queue-url <url>', 'queue to move messages to (default: QUEUE_URL)')
    .option('--dlq-url <url>', 'dead-letter queue to read (default: DLQ_URL)')
    .addHelpText(
      'after',
      `
Examples:
  catalog-sync redrive --list                          what is in the DLQ, and why
  catalog-sync redrive --dry-run --match 'landing/2026-11-25/**'
                                                       which messages a filtered redrive would move
  catalog-sync redrive --match 'landing/acme/*.csv' --max 50
                                                       move up to 50 messages naming an acme file
  catalog-sync redrive                                 move everything (SQS message-move task where available)
  catalog-sync redrive --cancel                        stop a running message-move task
  catalog-sync redrive --list --json | jq '.listing.entries[].keys'

A message without the worker's verdict reached the DLQ through the queue's maxReceiveCount: the worker
crashed or timed out on every receive. Listing receives each message once (SQS has no peek) and makes
it visible again straight away; the receive count it adds is reset by a redrive.
On a terminal, a move shows a live line on stderr: messages moved, the rate and the time left (against
the DLQ depth at the start, or the move task's own count). With --json, or when stderr is not a
terminal, each event is one plain line on stderr instead.
Exit status: 0 done, 1 a message could not be moved (or may now be in both queues), 2 bad configuration.`,
    )
    .action(async (flags: RedriveFlags) => {
      const mode: RedriveMode = flags.cancel
        ? 'cancel'
        : flags.list
          ? 'list'
          : flags.dryRun
            ? 'dry-run'
            : 'move';
      const env = process.env;
      const { awsRegion } = loadConfig(env, ['awsRegion']);
      const dlqUrl = resolveQueueUrl('dlqUrl', flags.dlqUrl, env);
      // Listing and cancelling never touch the source queue, so they work without it.
      const queueUrl =
        mode === 'move' || mode === 'dry-run' ? resolveQueueUrl('queueUrl', flags.queueUrl, env) : '';

      const { sqs, s3 } = opsClients(awsRegion, env);
      // Only the receive/send/delete loop needs the synced bucket; runRedrive says so if it is missing.
      const claims = env.SYNCED_BUCKET?.trim()
        ? (() => {
            const { syncedBucket, syncedPrefix } = loadConfig(env, ['syncedBucket', 'syncedPrefix']);
            return s3MoveClaims({
              s3,
              bucket: syncedBucket,
              prefix: redriveClaimsFolder(syncedPrefix, dlqUrl),
              dlqUrl,
            });
          })()
        : undefined;
      const abort = new AbortController();
      const progress = createProgress({ label: 'redrive', unit: 'messages', enabled: !flags.json });
      const onSigint = () => {
        abort.abort();
        const line =
          'redrive: stopping after the current batch; held messages are made visible again (Ctrl-C again quits now)';
        if (progress.active) progress.note(line);
        else console.error(line);
      };
      process.once('SIGINT', onSigint);
      try {
        if (progress.active && mode === 'move') {
          // The total the ETA is measured against: what waits in the DLQ now (at most --max).
          const { visible } = await queueDepth(sqs, dlqUrl);
          progress.update(0, { total: flags.max === undefined ? visible : Math.min(flags.max, visible) });
        }
        const outcome = await runRedrive(
          {
            sqs,
            claims,
            sleep: (ms) => delay(ms, undefined, { signal: abort.signal }).catch(() => undefined),
            signal: abort.signal,
            onProgress: redriveProgressSink(progress, (line) => console.error(line)),
          },
          { mode, dlqUrl, queueUrl, match: flags.match, max: flags.max },
        );
        progress.finish();
        process.stdout.write(
          flags.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${renderOutcome(outcome, queueUrl)}\n`,
        );
        process.exitCode = exitCodeOf(outcome);
      } finally {
        progress.finish();
        process.off('SIGINT', onSigint);
        sqs.destroy();
        s3.destroy();
      }
    });
}
