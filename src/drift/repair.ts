import type { Versioned } from '../shared/s3-json.ts';
import { driftReportKey } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import type { Findings } from './inspect.ts';
import { settleOrphans } from './orphan-deletion.ts';
import type { RepairDeps } from './repair-deps.ts';
import { resendStaleAndMissing } from './repair-resend.ts';
import { latestDriftReport, writeDriftReport, type DriftItem, type DriftReport } from './report.ts';

/**
 * The second half of a drift check, under the catalog lease and after the flushes already queued in this
 * worker (the worker runs it in its flush chain): send stale and missing items again, delete orphans when
 * configured (orphan-deletion.ts), write the report. The resend is repair-resend.ts, its records
 * repair-manifest.ts.
 *
 * Sending again is a resend: each item goes with the source stamp of its last send, through the send gate
 * (resend mode), so a newer row sent since the check read the state always wins (the item is `superseded`)
 * and an item with a send still open waits for it. The items go in one new manifest (`driftReport` names
 * the report, no sources: it covers no landing file), whose batches are followed to Meta's final status
 * like any flush. Only as many items_batch calls are made as the hourly budget has left above
 * DRIFT_BUDGET_RESERVE; the rest is `deferred` to the next check.
 *
 * Orphans are deleted (items_batch DELETE) only with DRIFT_DELETE_ORPHANS, at most DRIFT_DELETE_MAX a
 * check, and only those the previous report already listed as orphans (that report was the dry run of
 * their deletion), and only if the product state still does not know them under the lease.
 */

export interface DriftOutcome {
  reportKey: string;
  report: DriftReport;
  repair: { key: string; manifest: Versioned<Manifest> } | null;
}

export async function repairAndReport(
  deps: RepairDeps,
  findings: Findings,
  options: { dryRun: boolean },
  signal: AbortSignal,
): Promise<DriftOutcome> {
  const reportKey = driftReportKey(deps.syncedPrefix, findings.startedAt);
  const calls = { ...findings.calls, itemsBatch: 0, deletes: 0 };
  const items = findings.items.map((i) => ({ ...i }));
  const byId = new Map(items.map((i) => [i.id, i]));
  const previous = await latestDriftReport({
    s3: deps.s3,
    bucket: deps.bucket,
    syncedPrefix: deps.syncedPrefix,
  });
  const announced = new Set(
    (previous?.report.items ?? []).filter((i) => i.class === 'orphan').map((i) => i.id),
  );

  const lease = await deps.lease.acquire(signal);
  let repair: DriftOutcome['repair'];
  let deletions: DriftReport['deletions'];
  try {
    const run = { lease, signal: AbortSignal.any([signal, lease.signal]), dryRun: options.dryRun };
    const allowance = Math.max(0, deps.client.budgetRemaining() - deps.budgetReserve);
    const resent = await resendStaleAndMissing(deps, findings, byId, { ...run, reportKey, allowance }, calls);
    repair = resent.repair;
    const orphans = items.filter((i) => i.class === 'orphan');
    deletions = await settleOrphans(deps, orphans, announced, { ...run, allowance: resent.allowance }, calls);
  } finally {
    await lease.release();
  }

  const report = driftReport(deps, findings, { dryRun: options.dryRun, items, calls, repair, deletions });
  await writeDriftReport({ s3: deps.s3, bucket: deps.bucket }, reportKey, report);
  deps.metrics?.count(
    'DriftItemsOutOfStep',
    report.counts.stale + report.counts.missing + report.counts.orphan,
  );
  try {
    await deps.history?.setKnownProducts(findings.entries.size);
  } catch (err) {
    deps.logger.warn('drift check: could not update the known catalog size of the guardrails', { err });
  }
  return { reportKey, report, repair };
}

function driftReport(
  deps: Pick<RepairDeps, 'catalogId' | 'now' | 'fields'>,
  findings: Findings,
  run: {
    dryRun: boolean;
    items: DriftItem[];
    calls: DriftReport['calls'];
    repair: DriftOutcome['repair'];
    deletions: DriftReport['deletions'];
  },
): DriftReport {
  const count = (c: DriftItem['class']) => run.items.filter((i) => i.class === c).length;
  return {
    schemaVersion: 1,
    kind: 'drift',
    catalogId: deps.catalogId,
    startedAt: new Date(findings.startedAt).toISOString(),
    finishedAt: new Date(deps.now()).toISOString(),
    dryRun: run.dryRun,
    fields: [...deps.fields],
    listing: findings.listing,
    counts: {
      inStep: findings.inStep.length,
      stale: count('stale'),
      missing: count('missing'),
      orphan: count('orphan'),
      unverified: count('unverified'),
      inFlight: count('in-flight'),
      notAccepted: count('not-accepted'),
    },
    calls: run.calls,
    repairManifestKey: run.repair?.key ?? null,
    items: run.items,
    inStep: findings.inStep,
    deletions: run.deletions,
  };
}
