import { failpoint } from '../failpoints.ts';
import type { Logger } from '../logger.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { backoffDelay, sleep } from '../shared/backoff.ts';
import { asHalted, decideError } from './error-policy.ts';
import type { SubmissionHaltedError } from './errors.ts';
import { flushWindow, type FlushDeps, type FlushResult } from './flush.ts';
import type { HeldMessages } from './held-messages.ts';
import type { OpenWindow } from './open-windows.ts';
import type { TaskMessages } from './task-messages.ts';

/**
 * One window's flush with its bounded attempts: the error policy decides between halting (the window is
 * parked with its messages held), releasing (interrupted), dead-lettering (Meta refused the request) and
 * trying again; after FLUSH_ATTEMPTS the messages go back to the queue (dead-lettered on their last receive).
 */

export const FLUSH_ATTEMPTS = 3;

export interface FlushRunnerDeps {
  flush: FlushDeps;
  tasks: TaskMessages;
  held: HeldMessages;
  logger: Logger;
  metrics: ServiceMetrics | undefined;
  now: () => number;
  signal: () => AbortSignal;
  halted: () => boolean;
  halt: (err: SubmissionHaltedError) => void;
  park: (open: OpenWindow) => void;
  /** The flush is recorded and its messages deleted: follow its batches, tell subscribers. */
  flushed: (open: OpenWindow, result: FlushResult) => void;
}

export async function runFlush(deps: FlushRunnerDeps, open: OpenWindow): Promise<void> {
  const log = deps.logger.child({ window: open.buffer.window });
  for (let attempt = 1; ; attempt++) {
    if (deps.halted()) return deps.park(open);
    const started = deps.now();
    try {
      const result = await flushWindow(deps.flush, open.buffer, deps.signal());
      await deps.tasks.finish(open.task, 'delete');
      failpoint('flush.after-delete');
      deps.metrics?.record('FlushDurationMs', deps.now() - started);
      deps.metrics?.record('HeldMessages', deps.held.size);
      deps.flushed(open, result);
      return;
    } catch (err) {
      const decision = decideError(err);
      if (decision.kind === 'halt') {
        deps.halt(asHalted(err, decision.graph));
        return deps.park(open);
      }
      if (deps.halted()) return deps.park(open);
      if (decision.kind === 'aborted' || deps.signal().aborted) {
        log.warn('flush interrupted; its messages are released for another delivery');
        return deps.tasks.finish(open.task, 'release');
      }
      if (decision.kind === 'refuse') {
        log.error('Meta refused the flush request; its messages are dead-lettered with the reason', { err });
        return deps.tasks.deadLetterTask(
          open.task,
          'internal',
          err instanceof Error ? err.message : String(err),
        );
      }
      if (attempt >= FLUSH_ATTEMPTS) {
        log.error('flush failed repeatedly; its messages go back to the queue', { err, attempt });
        return deps.tasks.giveUp(open.task, err);
      }
      const waitMs = backoffDelay(attempt, deps.flush.retry);
      log.warn('flush failed; retrying', { err, attempt, waitMs });
      try {
        await sleep(waitMs, deps.signal());
      } catch {
        return deps.halted() ? deps.park(open) : deps.tasks.finish(open.task, 'release');
      }
    }
  }
}
