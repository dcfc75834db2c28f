import type { Ledger } from './ledger.ts';
import type { Tally } from './context.ts';
import { describeReport, type OracleReport } from './oracle.ts';

/** The closing lines of a chaos run, and whether it passed: the final oracle held and no check between rounds failed. */
export function summarize(input: {
  rounds: number;
  workerCount: number;
  tally: Tally;
  ledger: Ledger;
  workerProcesses: number;
  dagRuns: number;
  final: OracleReport;
  /** Values Meta rejected with a reason, per product (oracle/newest.ts rejectedValues). */
  rejected: ReadonlyMap<string, ReadonlySet<number>>;
  workDir: string;
}): { lines: string[]; pass: boolean } {
  const { tally, ledger, final } = input;
  const lines: string[] = [];
  const products = ledger.expected().size;
  const faultList = [...tally.faults].map(([k, v]) => `${k} ×${v}`).join(', ');
  lines.push(
    `rounds ${input.rounds}, uploads ${tally.uploads} (${tally.lostEvents} with lost events), products ${products}, ` +
      `old events redelivered ${tally.redelivered}`,
    `kills: ${tally.sigkills} SIGKILL, deploys ${tally.deploys}; worker processes ${input.workerProcesses} ` +
      `in ${tally.generations} generations (${input.workerCount} at once); DAG runs ${input.dagRuns}`,
    `faults drawn: ${faultList}`,
  );
  const c = final.calls;
  lines.push(
    `items_batch calls ${c.accepted} accepted (+${c.refused} refused) vs bound ${c.bound}: ` +
      `${c.flushes} flushes → ${c.flushCalls}, ${c.recoveries} recovered flushes (${c.abandoned} abandoned manifests) → ${c.recoveryCalls}, ${c.resends} resends`,
    `final oracle: ${describeReport(final)}`,
  );
  const excused = [...ledger.expected()].filter(([id, want]) => input.rejected.get(id)?.has(want.value));
  if (excused.length > 0) {
    lines.push(
      `newest row rejected by Meta (named with a reason; not required in the catalog): ${excused.map(([id]) => id).join(', ')}`,
    );
  }
  lines.push(`oracle checks ${tally.oracleChecks}, failed between rounds ${tally.oracleFailures}`);
  const pass = final.ok && tally.oracleFailures === 0;
  if (pass) {
    lines.push(
      'PASS: newest value of every product in the catalog, none ever went backwards, every archived item ' +
        'accepted or rejected with a reason, calls within bound, every DLQ message with a reason, landing/ empty',
    );
  } else {
    lines.push(
      `FAIL: final oracle ${final.problems.length} problem(s), ${tally.oracleFailures} failed check(s) between rounds`,
      ...final.problems.map((p) => `  ${p}`),
      `logs kept in ${input.workDir}`,
    );
  }
  return { lines, pass };
}
