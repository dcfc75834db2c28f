import type { Logger } from '../logger.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ProductStateStore, StateSnapshot } from '../state/product-state-store.ts';
import { judge, type GateCandidate, type GateVerdict } from '../state/send-gate.ts';
import type { HeldLease } from '../state/catalog-lease.ts';
import type { ManifestStore } from './manifest-store.ts';
import { resolveOpenSends, sendRef } from './open-sends.ts';

/**
 * Runs the send gate (state/send-gate.ts) for a set of products under the catalog lease: reads their
 * state, finds out where their open sends stand, judges each one, and while some must wait for an earlier
 * batch, waits (polling with doubling delays) and judges again. Returns only when no verdict is `wait`,
 * or throws EarlierSendPendingError past the deadline (a transient failure: the work is kept and retried).
 */

export class EarlierSendPendingError extends Error {
  override readonly name = 'EarlierSendPendingError';
}

export interface GateDeps {
  state: ProductStateStore;
  manifests: ManifestStore;
  client: CatalogClient;
  logger: Logger;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  unsentSettleMs: number;
  /** Longest wait for earlier batches of the same products before giving up (transiently). */
  waitDeadlineMs: number;
  waitInitialMs: number;
  waitMaxMs: number;
}

export interface GateResult {
  snapshot: StateSnapshot;
  verdicts: Map<string, Exclude<GateVerdict, { kind: 'wait' }>>;
}

export async function gateUnderLease(
  deps: GateDeps,
  candidates: ReadonlyMap<string, GateCandidate>,
  /** `deadline`: when waiting gives up (ms), shared by a caller that gates in slices; else waitDeadlineMs from now. */
  options: { resend: boolean; deadline?: number },
  lease: HeldLease,
  signal: AbortSignal,
): Promise<GateResult> {
  const deadline = options.deadline ?? deps.now() + deps.waitDeadlineMs;
  let delay = deps.waitInitialMs;
  for (;;) {
    await lease.ensure(0);
    const snapshot = await deps.state.read(candidates.keys());
    const entries = [...candidates.keys()].flatMap((id) => snapshot.get(id) ?? []);
    const fates = await resolveOpenSends(
      {
        manifests: deps.manifests,
        client: deps.client,
        logger: deps.logger,
        unsentSettleMs: deps.unsentSettleMs,
      },
      entries,
      signal,
    );
    const now = deps.now();
    const verdicts = new Map<string, Exclude<GateVerdict, { kind: 'wait' }>>();
    const waits: { id: string; until: number | null; reason: string }[] = [];
    for (const [id, candidate] of candidates) {
      const entry = snapshot.get(id);
      const fate = entry?.open ? fates.get(sendRef(entry)) : undefined;
      const verdict = judge(candidate, { entry, fate, now, resend: options.resend });
      if (verdict.kind === 'wait') waits.push({ id, until: verdict.until, reason: verdict.reason });
      else verdicts.set(id, verdict);
    }
    if (waits.length === 0) return { snapshot, verdicts };
    if (now >= deadline) {
      throw new EarlierSendPendingError(
        `${waits.length} product(s) still have an earlier send without a final status after ${deps.waitDeadlineMs} ms ` +
          `(e.g. ${waits[0]!.id}: ${waits[0]!.reason}); the work is kept and tried again`,
      );
    }
    const soonest = Math.min(...waits.map((w) => w.until ?? now + delay));
    const waitMs = Math.max(50, Math.min(soonest - now, delay, deadline - now));
    deps.logger.info('waiting for earlier sends of the same products to finish at Meta', {
      stage: 'gate-wait',
      products: waits.length,
      example: waits[0]!.id,
      reason: waits[0]!.reason,
      waitMs,
    });
    await deps.sleep(waitMs, signal);
    delay = Math.min(delay * 2, deps.waitMaxMs);
  }
}
