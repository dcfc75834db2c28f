import { releaseHeld } from '../../guardrails/release.ts';
import type { RepairDeps } from '../../drift/repair-deps.ts';
import { asHalted, decideError } from '../error-policy.ts';
import type { TaskContext } from './context.ts';

/** `catalog-sync release`: sends a held manifest (src/guardrails/release.ts) after the queued flushes, then follows it. */
export async function runRelease(
  ctx: TaskContext,
  deps: RepairDeps,
  task: string,
  msg: { manifestKey: string; by: string; requestedAt: string },
): Promise<void> {
  const log = ctx.log.child({ manifestKey: msg.manifestKey });
  try {
    const outcome = await ctx.afterFlushes(() =>
      releaseHeld(deps, { key: msg.manifestKey, by: msg.by, requestedAt: msg.requestedAt }, ctx.signal()),
    );
    if (outcome.kind === 'released') void ctx.follow(msg.manifestKey, outcome.manifest);
    else log.warn('release: the manifest is not held; acknowledged', { outcome: outcome.kind, ...outcome });
    await ctx.finish(task, 'delete');
  } catch (err) {
    const decision = decideError(err);
    if (decision.kind === 'halt') ctx.halt(asHalted(err, decision.graph));
    else log.error('release failed; the message goes back to the queue', { err });
    await ctx.finish(task, 'release');
  }
}
