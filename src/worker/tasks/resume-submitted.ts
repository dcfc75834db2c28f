import { windowBefore, windowOf } from '../../shared/hours.ts';
import { manifestFolder } from '../../contract/layout.ts';
import type { ManifestStore } from '../manifest-store.ts';
import type { TaskContext } from './context.ts';

/** At start-up and on resuming: follows the manifests of this and the previous hour left `submitted` by an earlier run. */
export async function resumeSubmitted(
  ctx: Pick<TaskContext, 'log' | 'follow'>,
  deps: { manifests: ManifestStore; syncedPrefix: string; now: () => number },
): Promise<void> {
  const current = windowOf(deps.now());
  for (const window of [windowBefore(current), current]) {
    for (const key of await deps.manifests.list(manifestFolder(deps.syncedPrefix, window))) {
      const got = await deps.manifests.read(key);
      if (got?.value.state === 'submitted') {
        ctx.log.info('resuming status polling of a submitted manifest', { manifestId: got.value.manifestId });
        void ctx.follow(key, got);
      }
    }
  }
}
