import { failureText, type DlqEntry } from './dlq-message.ts';
import type { MoveTask } from './move-task.ts';
import type { RedriveOutcome, RedriveProgress } from './redrive.ts';
import type { LoopProblem } from './redrive-loop.ts';
import { formatTable, type Column } from './table.ts';

/** Human text for `redrive`: the listing table, the outcome, and one line per progress event. */

function keyText(entry: DlqEntry): string {
  if (entry.payload.kind === 'unparseable') return `(${entry.payload.why})`;
  if (entry.keys.length === 0) return '-';
  return entry.keys.length === 1 ? entry.keys[0]! : `${entry.keys[0]} (+${entry.keys.length - 1} more)`;
}

const ENTRY_COLUMNS: Column<DlqEntry>[] = [
  { header: 'KIND', value: (e) => e.payload.kind },
  { header: 'KEY', value: keyText, maxWidth: 70 },
  { header: 'RECEIVES', value: (e) => e.receiveCount, align: 'right' },
  { header: 'FAILED AT', value: (e) => (e.failure.kind === 'verdict' ? e.failure.reason.failedAt : null) },
  { header: 'FIRST ERROR', value: (e) => failureText(e.failure), maxWidth: 100 },
];

export function renderEntries(entries: readonly DlqEntry[]): string {
  return entries.length === 0 ? '(no messages)' : formatTable(ENTRY_COLUMNS, entries);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function taskLine(task: MoveTask): string {
  const of = task.toMove === null ? '' : ` of ${task.toMove}`;
  const why = task.failureReason ? `: ${task.failureReason}` : '';
  return `message-move task ${task.status}: ${task.moved}${of} moved${why}`;
}

function problemLine(p: LoopProblem): string {
  const what = `${p.entry.payload.kind} ${keyText(p.entry)} (message ${p.entry.messageId})`;
  switch (p.kind) {
    case 'lease-lost':
      return `skipped ${what}: another reader holds it, or it slipped out of our hold; left in the DLQ`;
    case 'held-elsewhere':
      return `skipped ${what}: operator ${p.owner} is moving it`;
    case 'already-moved':
      return `removed ${what} from the DLQ: operator ${p.owner} had already sent it`;
    case 'not-moved':
      return `NOT MOVED ${what}: ${p.error}; it is still in the DLQ, run redrive again`;
    case 'not-deleted':
      return (
        `DUPLICATE RISK ${what}: ${p.error}; it is now in both queues. Delete it from the DLQ by hand ` +
        '(the worker skips rows it already sent, so a second delivery is harmless but wasteful)'
      );
  }
}

export function renderProgress(p: RedriveProgress): string {
  switch (p.kind) {
    case 'strategy':
      return `redrive: ${p.why}`;
    case 'task':
      return `redrive: ${taskLine(p.task)}`;
    case 'moved':
      return `redrive: moved ${p.entry.payload.kind} ${keyText(p.entry)}`;
    case 'problem':
      return `redrive: ${problemLine(p.problem)}`;
  }
}

export function renderOutcome(outcome: RedriveOutcome, queueUrl: string): string {
  switch (outcome.kind) {
    case 'listing':
    case 'dry-run': {
      const { dlq, listing, match } = outcome;
      const lines = [
        `DLQ ${dlq.url}: ${dlq.visible} waiting, ${dlq.inFlight} in flight`,
        '',
        renderEntries(listing.entries),
        '',
      ];
      const filtered = match === null ? '' : ` matching "${match}" (${listing.notMatched} did not match)`;
      lines.push(`${plural(listing.entries.length, 'message')} listed${filtered}.`);
      if (listing.truncated)
        lines.push('More messages were left unread: the limit (--max or 10000) was reached.');
      if (outcome.kind === 'dry-run') {
        const count =
          outcome.strategy === 'move-task'
            ? `every message (about ${dlq.visible})`
            : plural(listing.entries.length, 'message');
        lines.push(`Dry run: would move ${count} to ${queueUrl}.`, `How: ${outcome.why}.`);
        if (outcome.runningTask)
          lines.push(`A message-move task is already running: ${taskLine(outcome.runningTask)}.`);
        lines.push('Nothing was changed: every listed message is visible in the DLQ again.');
      }
      for (const f of listing.releaseFailures)
        lines.push(
          `warning: could not make message ${f.messageId} visible again (${f.error}); it reappears by itself within 2 minutes`,
        );
      return lines.join('\n');
    }
    case 'move-task': {
      const lines = [
        outcome.followedExisting
          ? 'A message-move task was already running on this DLQ; followed it.'
          : outcome.why,
        taskLine(outcome.task),
      ];
      if (outcome.task.status === 'RUNNING')
        lines.push('Stopped watching; the task goes on in SQS. `catalog-sync redrive --cancel` stops it.');
      return lines.join('\n');
    }
    case 'loop': {
      const r = outcome.result;
      const stop = {
        drained: 'no matching message left in the DLQ',
        cycled: 'every message in the DLQ was looked at',
        max: 'reached --max',
        aborted: 'interrupted',
      }[r.stoppedBecause];
      const lines = [`Moved ${plural(r.moved.length, 'message')} to ${queueUrl} (stopped: ${stop}).`];
      if (r.notMatched > 0)
        lines.push(`${plural(r.notMatched, 'message')} did not match and stay in the DLQ.`);
      for (const p of r.problems) lines.push(problemLine(p));
      for (const f of r.releaseFailures)
        lines.push(
          `warning: could not make message ${f.messageId} visible again (${f.error}); it reappears by itself`,
        );
      return lines.join('\n');
    }
    case 'cancel':
      if (!outcome.supported) return 'This service has no message-move tasks; nothing to cancel.';
      return outcome.task
        ? `Cancelling message-move task (${outcome.task.moved} moved so far; those stay moved).`
        : 'No message-move task is running on this DLQ.';
  }
}

/** 0 when everything asked for happened; 1 when a message was left behind or may be duplicated. */
export function exitCodeOf(outcome: RedriveOutcome): number {
  switch (outcome.kind) {
    case 'loop':
      return outcome.result.stoppedBecause === 'aborted' ||
        outcome.result.problems.some((p) => p.kind === 'not-moved' || p.kind === 'not-deleted')
        ? 1
        : 0;
    case 'move-task':
      return outcome.task.status === 'FAILED' || outcome.task.status === 'CANCELLED' ? 1 : 0;
    default:
      return 0;
  }
}
