import type { SimCall } from '../../../tools/simulator/index.ts';
import { isFirstSend, type MManifest } from './manifest.ts';

export interface CallNumbers {
  /** items_batch calls Meta accepted (HTTP 200), and calls it refused (faults, throttles). */
  accepted: number;
  refused: number;
  bound: number;
  /** Parts of the bound. */
  flushes: number;
  flushCalls: number;
  recoveries: number;
  recoveryCalls: number;
  resends: number;
  abandoned: number;
  slack: number;
}

/**
 * (iii) The items_batch calls against their bound: Σ over manifests of ceil(K/5000) (K: items of the
 * manifest's first sends) + resend batches; the manifests of abandoned or dead flushes (abandoned,
 * pending) are the "recoveries" inside that sum.
 */
export function callNumbers(
  calls: readonly SimCall[],
  manifests: readonly MManifest[],
  slack: number,
): CallNumbers {
  let flushes = 0;
  let flushCalls = 0;
  let recoveries = 0;
  let recoveryCalls = 0;
  let resends = 0;
  let abandoned = 0;
  for (const m of manifests) {
    const first = m.batches.filter(isFirstSend);
    const k = first.reduce((n, b) => n + b.itemCount, 0);
    resends += m.batches.length - first.length;
    const n = Math.ceil(k / 5000);
    if (m.state === 'abandoned' || m.state === 'pending') {
      if (m.state === 'abandoned') abandoned++;
      if (n > 0) recoveries++;
      recoveryCalls += n;
    } else if (n > 0) {
      flushes++;
      flushCalls += n;
    }
  }
  const accepted = calls.filter((c) => c.outcome === 'ok').length;
  const refused = calls.filter((c) => c.outcome === 'error').length;
  return {
    accepted,
    refused,
    bound: flushCalls + recoveryCalls + resends,
    flushes,
    flushCalls,
    recoveries,
    recoveryCalls,
    resends,
    abandoned,
    slack,
  };
}

/** The calls over the bound (plus slack), as one problem line; none when within it. */
export function callProblems(n: CallNumbers): string[] {
  if (n.accepted <= n.bound + n.slack) return [];
  return [
    `${n.accepted} items_batch calls accepted > bound ${n.bound}` +
      ` (${n.flushCalls} for ${n.flushes} flushes + ${n.recoveryCalls} for ${n.recoveries} recovered flushes + ${n.resends} resends)` +
      (n.slack ? ` + slack ${n.slack}` : ''),
  ];
}
