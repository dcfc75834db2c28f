import type { StatusStore } from '../ops/status-report.ts';
import { latestDriftReport, type DriftReport } from './report.ts';

/** What `status` shows of the newest drift check: counts, calls spent, and the items not in step. */

export interface DriftStatus {
  key: string;
  report: DriftReport;
}

export async function readDriftStatus(store: StatusStore): Promise<DriftStatus | null> {
  return latestDriftReport(store);
}

export function renderDriftStatus(d: DriftStatus | null, limit = 20): string[] {
  if (!d) return ['', 'Drift: no drift check has run yet (the DAG sends one on its drift schedule).'];
  const r = d.report;
  const c = r.counts;
  const lines = [
    '',
    `Drift check of ${r.startedAt}${r.dryRun ? ' (dry run)' : ''}: ${c.inStep} in step, ${c.stale} stale, ` +
      `${c.missing} missing at Meta, ${c.orphan} orphans, ${c.unverified} unverified, ${c.inFlight} in flight, ` +
      `${c.notAccepted} not accepted  (${d.key})`,
    `  calls: ${r.calls.reads} listing pages, ${r.calls.lookups} look-ups, ${r.calls.itemsBatch} items_batch, ` +
      `${r.calls.deletes} deletions` +
      (r.listing.complete ? '' : `; listing cut short: ${r.listing.error ?? 'unknown'}`) +
      (r.repairManifestKey ? `; repair manifest ${r.repairManifestKey}` : ''),
  ];
  const shown = r.items.filter((i) => i.class !== 'in-flight');
  for (const i of shown.slice(0, limit)) {
    const fields = (i.fields ?? []).map(
      (f) => `${f.field} ${JSON.stringify(f.sent)} at us, ${JSON.stringify(f.meta)} at Meta`,
    );
    lines.push(
      `  ${i.id}  ${i.class}, ${i.action}` +
        (fields.length > 0 ? `: ${fields.join('; ')}` : '') +
        (i.why ? ` (${i.why})` : ''),
    );
  }
  if (shown.length > limit)
    lines.push(`  … and ${shown.length - limit} more (--json, or the report, lists all)`);
  return lines;
}
