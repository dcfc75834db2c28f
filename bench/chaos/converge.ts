import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ChaosContext } from './context.ts';
import { newestProblems, rejectedValues } from './oracle/newest.ts';
import { CATALOG } from './rig.ts';
import { until } from './workers.ts';

/**
 * The end of a run: faults off, DAG runs until landing/ is empty and the catalog holds every newest value,
 * or `--converge-seconds` pass (the final oracle then says what is missing).
 */
export async function converge(ctx: ChaosContext): Promise<void> {
  const { sim, clients, stack, ledger, airflow } = ctx.rig;
  sim.setFaults({});
  const deadline = Date.now() + ctx.options.convergeSeconds * 1000;
  const landingEmpty = async () => {
    const listed = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: stack.landingBucket, Prefix: 'landing/', MaxKeys: 1 }),
    );
    return (listed.KeyCount ?? 0) === 0;
  };
  const converged = async () =>
    newestProblems(sim.products(CATALOG), ledger, await rejectedValues(clients.s3, stack.syncedBucket))
      .length === 0 && (await landingEmpty());
  while (!(await converged()) && Date.now() < deadline) {
    await airflow.runDag(61);
    // Give the workers a few seconds after each run (stragglers, re-checks), leaving early when done.
    await until('convergence', converged, { timeoutMs: 4000, intervalMs: 500 }).catch(() => undefined);
  }
}
