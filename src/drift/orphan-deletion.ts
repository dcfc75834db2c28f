import type { HeldLease } from '../state/catalog-lease.ts';
import { asHalted, decideError } from '../worker/error-policy.ts';
import type { DriftItem, DriftReport } from './report.ts';
import type { RepairDeps } from './repair-deps.ts';

/**
 * Orphans (items Meta holds that were never sent) are deleted (items_batch DELETE) only with
 * DRIFT_DELETE_ORPHANS, at most DRIFT_DELETE_MAX a check, only those the previous report already listed as
 * orphans (that report was the dry run of their deletion), and only if the product state still does not
 * know them under the lease. Each deletion call takes one call of `allowance`.
 */
export async function settleOrphans(
  deps: RepairDeps,
  orphans: DriftItem[],
  announced: ReadonlySet<string>,
  run: { lease: HeldLease; signal: AbortSignal; dryRun: boolean; allowance: number },
  calls: { deletes: number },
): Promise<DriftReport['deletions']> {
  const deletions: DriftReport['deletions'] = [];
  if (!deps.deleteOrphans) {
    for (const o of orphans) o.action = 'reported';
    return deletions;
  }
  const due = orphans.filter((o) => announced.has(o.id));
  for (const o of orphans) if (!announced.has(o.id)) o.action = 'would-delete';
  // Known to the state now (sent since the check): not an orphan after all.
  const snap = due.length > 0 ? await deps.state.read(due.map((o) => o.id)) : null;
  const deletable: DriftItem[] = [];
  for (const o of due) {
    if (snap?.get(o.id)) {
      o.action = 'none';
      o.why = 'sent since the check read the state';
    } else if (run.dryRun) o.action = 'would-delete';
    else if (deletable.length >= deps.deleteMax) {
      o.action = 'deferred';
      o.why = `DRIFT_DELETE_MAX (${deps.deleteMax}) orphans deleted in this check`;
    } else deletable.push(o);
  }
  let allowance = run.allowance;
  for (let i = 0; i < deletable.length; i += deps.batchMaxItems) {
    const group = deletable.slice(i, i + deps.batchMaxItems);
    if (allowance <= 0 || !deps.client.deleteItems) {
      for (const o of group) {
        o.action = 'deferred';
        o.why = deps.client.deleteItems ? 'no call budget left in this hour' : 'this client cannot delete';
      }
      continue;
    }
    await run.lease.ensure(deps.requestTimeoutMs);
    let accepted;
    try {
      accepted = await deps.client.deleteItems(
        group.map((o) => o.id),
        { signal: run.signal },
      );
    } catch (err) {
      const decision = decideError(err);
      if (decision.kind === 'halt') throw asHalted(err, decision.graph);
      throw err;
    }
    calls.deletes++;
    allowance--;
    deletions.push({ handle: accepted.handle, ids: group.map((o) => o.id) });
    for (const o of group) o.action = 'deleted';
  }
  return deletions;
}
