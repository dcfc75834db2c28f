import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SimCall, SimHistoryEntry, StoredProduct } from '../../tools/simulator/index.ts';
import type { Ledger } from './ledger.ts';
import { archivedFiles } from './oracle/archived-files.ts';
import { landingVerdicts } from './oracle/archive-rule.ts';
import { callNumbers, callProblems, type CallNumbers } from './oracle/calls.ts';
import { dlqMessages, dlqProblems } from './oracle/dlq.ts';
import { fileFateProblems } from './oracle/file-fates.ts';
import { historyProblems } from './oracle/history.ts';
import { landingProblems } from './oracle/landing.ts';
import type { FileRef } from './oracle/manifest.ts';
import { newestProblems, rejectedValues } from './oracle/newest.ts';
import { S3View } from './oracle/s3-view.ts';

/**
 * The chaos oracle: what must hold of the whole pipeline, judged from the outside only (the simulator's
 * catalog, history and call log; the manifests, payloads, landing and archive objects in S3; the DLQ).
 * Shared by `npm run chaos` and the failpoint matrix (test/failpoints/matrix.test.ts). Each check has its
 * own module under oracle/; this one reads what they judge, runs them, and gathers their problems.
 *
 *  (i)   newest value: at the end the catalog holds, for every product, the value of the last upload that
 *        carries it (oracle/newest.ts); and at every check, the simulator's history of every product never
 *        went backwards (oracle/history.ts: each applied value ≥ every value applied before it;
 *        re-applying the same value is allowed).
 *  (ii)  known fates: every item of every archived file (archive/ prefix, oracle/archived-files.ts; or, in
 *        `archivable` mode, every landing file the DAG would archive now, oracle/archive-rule.ts) is
 *        accepted or rejected-with-reason (or superseded by a newer send) in the delivered manifests that
 *        cover it; those manifests have counts.unknown 0 and no batch still running or unsent; and every
 *        valid row of the file is sent or counted as skipped (oracle/file-fates.ts).
 *  (iii) calls: items_batch calls Meta accepted ≤ Σ over manifests of ceil(K/5000) (K: items of the
 *        manifest's first sends) + resend batches (resubmitOf set); the manifests of abandoned or dead
 *        flushes (abandoned, pending) are the "recoveries" inside that sum (oracle/calls.ts). Between rounds
 *        a call may be in flight before its manifest records it, so `slack` calls are allowed then (none at
 *        the end).
 *  (iv)  every DLQ message carries the worker's reason (oracle/dlq.ts; src/dead-letter.ts attributes).
 *  (v)   at the end landing/ is empty (in `archivable` mode: every landing file is archivable;
 *        oracle/landing.ts).
 *
 * The manifest shape is read loosely (oracle/manifest.ts), so the oracle does not break when the worker's
 * TypeScript types move.
 */

export interface OracleSim {
  calls(): SimCall[];
  history(catalogId: string, id?: string): SimHistoryEntry[];
  products(catalogId: string): StoredProduct[];
}

export interface OracleTarget {
  s3: S3Client;
  sqs: SQSClient;
  landingBucket: string;
  syncedBucket: string;
  dlqUrl: string;
  catalogId: string;
  sim: OracleSim;
  ledger: Ledger;
  landingPrefix?: string;
  archivePrefix?: string;
  syncedPrefix?: string;
}

export interface OracleOptions {
  /** End of the run: also (i) catalog = newest, (v) landing empty, and (iii) without slack. */
  final: boolean;
  /** Which files (ii) judges: those the DAG archived (archive/), or those it would archive now. */
  mode?: 'archived' | 'archivable';
  /** Calls allowed in flight between rounds (one per live worker is plenty). */
  slack?: number;
}

export interface OracleReport {
  ok: boolean;
  problems: string[];
  calls: CallNumbers;
  manifests: Record<string, number>;
  judgedFiles: number;
  historyEntries: number;
  dlqMessages: number;
  landing: string[];
}

const MAX_PER_CHECK = 25;

export async function checkOracle(t: OracleTarget, options: OracleOptions): Promise<OracleReport> {
  const landingPrefix = t.landingPrefix ?? 'landing/';
  const archivePrefix = t.archivePrefix ?? 'archive/';
  const syncedPrefix = t.syncedPrefix ?? 'synced/';
  const mode = options.mode ?? 'archived';
  const problems: string[] = [];
  const add = (check: string, list: string[]) => {
    for (const p of list.slice(0, MAX_PER_CHECK)) problems.push(`${check}: ${p}`);
    if (list.length > MAX_PER_CHECK) problems.push(`${check}: … and ${list.length - MAX_PER_CHECK} more`);
  };

  // The call log first: every call it holds was made before the manifests below were read.
  const calls = t.sim.calls().filter((c) => c.catalogId === t.catalogId && c.endpoint === 'items_batch');
  const history = t.sim.history(t.catalogId);
  const products = t.sim.products(t.catalogId);

  const store = new S3View(t.s3);
  const manifests = await store.manifests(t.syncedBucket, `${syncedPrefix}manifests/`);
  const landing = await store.keys(t.landingBucket, landingPrefix);
  const verdicts = landingVerdicts(landing, t.ledger, manifests, t.landingBucket);

  add('(i) history', historyProblems(history, t.ledger));
  if (options.final) {
    const rejected = await rejectedValues(t.s3, t.syncedBucket, manifests);
    add('(i) newest', newestProblems(products, t.ledger, rejected));
  }

  const judged: FileRef[] = [];
  const ii: string[] = [];
  if (mode === 'archived') {
    const files = await archivedFiles(store, { ...t, landingPrefix, archivePrefix });
    for (const f of files) {
      if (f.problem) ii.push(f.problem);
      else judged.push(f);
    }
  } else {
    for (const v of verdicts)
      if (v.inLedger && v.verdict === 'ready') judged.push({ key: v.key, etag: v.etag });
  }
  for (const f of judged) ii.push(...(await fileFateProblems(store, t, f, manifests)));
  add('(ii) fates', ii);

  const numbers = callNumbers(calls, manifests, options.final ? 0 : (options.slack ?? 0));
  add('(iii) calls', callProblems(numbers));

  const dlq = await dlqMessages(t.sqs, t.dlqUrl);
  add('(iv) DLQ', dlqProblems(dlq));

  if (options.final) add('(v) landing', landingProblems(mode, landing, verdicts));

  const states: Record<string, number> = {};
  for (const m of manifests) states[m.state] = (states[m.state] ?? 0) + 1;
  return {
    ok: problems.length === 0,
    problems,
    calls: numbers,
    manifests: states,
    judgedFiles: judged.length,
    historyEntries: history.length,
    dlqMessages: dlq.length,
    landing,
  };
}

/** One line of numbers for a report. */
export function describeReport(r: OracleReport): string {
  const c = r.calls;
  const states = Object.entries(r.manifests)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `calls ${c.accepted} accepted (+${c.refused} refused) vs bound ${c.bound} ` +
    `[${c.flushes} flushes → ${c.flushCalls}, ${c.recoveries} recoveries (${c.abandoned} abandoned) → ${c.recoveryCalls}, ${c.resends} resends${c.slack ? `, slack ${c.slack}` : ''}]; ` +
    `manifests: ${states || 'none'}; files judged ${r.judgedFiles}; history ${r.historyEntries}; DLQ ${r.dlqMessages}; landing ${r.landing.length}`
  );
}
