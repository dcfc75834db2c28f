import type { Progress } from '../progress.ts';
import type { RedriveProgress } from './redrive.ts';
import { renderProgress } from './redrive-render.ts';

/**
 * Where `redrive`'s progress events go. On a terminal: one live line (messages moved, rate, ETA against
 * the DLQ depth read at the start, or the move task's own count), with the strategy and every problem
 * printed above it so they stay on screen. Elsewhere (a pipe, a file, CI): the event lines as before, one
 * per event, with no control characters.
 */
export function redriveProgressSink(
  progress: Progress,
  log: (line: string) => void,
): (p: RedriveProgress) => void {
  if (!progress.active) return (p) => log(renderProgress(p));
  let moved = 0;
  return (p) => {
    switch (p.kind) {
      case 'strategy':
      case 'problem':
        progress.note(renderProgress(p));
        return;
      case 'task':
        progress.update(p.task.moved, { total: p.task.toMove, status: p.task.status });
        return;
      case 'moved':
        moved++;
        progress.update(moved);
        return;
    }
  };
}
