import { inspectCatalog, type InspectDeps } from '../../drift/inspect.ts';
import type { RepairDeps } from '../../drift/repair-deps.ts';
import { repairAndReport } from '../../drift/repair.ts';
import { asHalted, decideError } from '../error-policy.ts';
import type { TaskContext } from './context.ts';

/**
 * The DAG's drift check (src/drift/): the catalog is read back and classified outside the flush chain
 * (no lease, nothing sent); the repair runs after the flushes queued here, under the lease.
 */
export async function runDriftCheck(
  ctx: TaskContext,
  deps: { inspect: InspectDeps; repair: RepairDeps },
  task: string,
  dryRun: boolean,
): Promise<void> {
  try {
    const findings = await inspectCatalog(deps.inspect, ctx.signal());
    const outcome = await ctx.afterFlushes(() =>
      repairAndReport(deps.repair, findings, { dryRun }, ctx.signal()),
    );
    const { counts, calls } = outcome.report;
    ctx.log.info('drift check done', {
      stage: 'drift-checked',
      report: outcome.reportKey,
      dryRun,
      ...counts,
      calls,
    });
    if (outcome.repair) void ctx.follow(outcome.repair.key, outcome.repair.manifest);
    ctx.metrics?.flush({ drift: outcome.reportKey });
    await ctx.finish(task, 'delete');
  } catch (err) {
    const decision = decideError(err);
    if (decision.kind === 'halt') ctx.halt(asHalted(err, decision.graph));
    else ctx.log.error('drift check failed; the message goes back to the queue', { err });
    await ctx.finish(task, 'release');
  }
}
