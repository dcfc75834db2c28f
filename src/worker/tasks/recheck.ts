import type { ManifestStore } from '../manifest-store.ts';
import type { TaskContext } from './context.ts';

/** The DAG's status re-check of a manifest left `submitted`: polls it again, with one more resend allowed. */
export async function runRecheck(
  ctx: TaskContext,
  manifests: ManifestStore,
  task: string,
  key: string,
): Promise<void> {
  const log = ctx.log.child({ manifestKey: key });
  try {
    let got = await manifests.read(key);
    if (got && got.value.state === 'finished' && got.value.counts.unknown > 0) {
      // Written by an older version, which called a manifest finished with items of unknown fate: reopen it.
      got = await manifests.update(key, got, (m) =>
        m.state === 'finished' ? { ...m, state: 'submitted', finishedAt: null } : null,
      );
      log.warn('status re-check: finished manifest had items of unknown fate; reopened', {
        unknown: got.value.counts.unknown,
      });
    }
    if (!got) log.warn('status re-check for a manifest that does not exist; acknowledged');
    else if (got.value.state !== 'submitted') {
      log.info('status re-check: manifest is not submitted; acknowledged', { state: got.value.state });
    } else await ctx.follow(key, got, 1);
    await ctx.finish(task, ctx.halted() || ctx.signal().aborted ? 'release' : 'delete');
  } catch (err) {
    log.error('status re-check failed; the message goes back to the queue', { err });
    await ctx.finish(task, 'release');
  }
}
