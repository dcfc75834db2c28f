import type { HeldLease } from '../state/catalog-lease.ts';
import { contentHash } from '../state/product-state.ts';
import type { StateSnapshot } from '../state/product-state-store.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { windowOf } from '../shared/hours.ts';
import { asHalted, decideError } from '../worker/error-policy.ts';
import { markAttempted, planSendChunks, recordAccepted } from '../worker/flush.ts';
import { gateUnderLease } from '../worker/gated-send.ts';
import { manifestKey, payloadKey } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import { newManifestId } from '../worker/manifest.ts';
import type { Findings } from './inspect.ts';
import type { DriftItem } from './report.ts';
import {
  decidedUpdates,
  repairManifest,
  repairPayload,
  stampOf,
  type RepairCandidate,
} from './repair-manifest.ts';
import type { RepairDeps } from './repair-deps.ts';

/**
 * Sending stale and missing items again, under the lease: each goes with the source stamp of its last
 * send through the send gate (resend mode), so a newer row sent since the check read the state wins (the
 * item is `superseded`) and an item with a send still open waits for it. Only `allowance` items_batch
 * calls are made; the rest is `deferred` to the next check.
 */

export interface ResendResult {
  repair: { key: string; manifest: Versioned<Manifest> } | null;
  /** Calls of the allowance left for the deletions. */
  allowance: number;
}

export async function resendStaleAndMissing(
  deps: RepairDeps,
  findings: Findings,
  byId: Map<string, DriftItem>,
  run: { lease: HeldLease; signal: AbortSignal; dryRun: boolean; reportKey: string; allowance: number },
  calls: { itemsBatch: number },
): Promise<ResendResult> {
  const candidates = new Map<string, RepairCandidate>();
  for (const i of byId.values()) {
    if (i.class !== 'stale' && i.class !== 'missing') continue;
    const item = findings.lastSent.get(i.id);
    const entry = findings.entries.get(i.id);
    if (!item || !entry) continue;
    candidates.set(i.id, { item, stamp: stampOf(entry), entry });
  }
  let allowance = run.allowance;
  if (candidates.size === 0) return { repair: null, allowance };
  const gated = new Map(
    [...candidates].map(([id, c]) => [id, { hash: contentHash(c.item), stamp: c.stamp }]),
  );
  const { snapshot, verdicts } = await gateUnderLease(deps, gated, { resend: true }, run.lease, run.signal);
  const toSend: RepairCandidate[] = [];
  for (const [id, c] of candidates) {
    if (verdicts.get(id)?.kind === 'send') toSend.push(c);
    else byId.get(id)!.action = 'superseded';
  }
  const chunks = planSendChunks(deps.client, deps, toSend);
  const now = chunks.slice(0, run.dryRun ? chunks.length : allowance);
  for (const c of chunks.slice(now.length).flat()) {
    Object.assign(byId.get(c.item.id)!, {
      action: 'deferred',
      why: `the hourly call budget has ${allowance} call(s) left above DRIFT_BUDGET_RESERVE (${deps.budgetReserve})`,
    });
  }
  let repair: ResendResult['repair'] = null;
  if (run.dryRun) {
    for (const c of now.flat()) byId.get(c.item.id)!.action = 'would-resend';
  } else if (now.length > 0) {
    repair = await sendRepair(deps, run.lease, now, snapshot, run.reportKey, run.signal, calls);
    allowance -= now.length;
    for (const c of now.flat()) byId.get(c.item.id)!.action = 'resent';
  }
  return { repair, allowance };
}

/** One manifest with the chunks to send now; decided in the state first, then sent chunk by chunk. */
async function sendRepair(
  deps: RepairDeps,
  lease: HeldLease,
  chunks: RepairCandidate[][],
  snapshot: StateSnapshot,
  reportKey: string,
  signal: AbortSignal,
  calls: { itemsBatch: number },
): Promise<{ key: string; manifest: Versioned<Manifest> }> {
  const startedAt = deps.now();
  const window = windowOf(startedAt);
  const manifestId = newManifestId(window, startedAt);
  const key = manifestKey(deps.syncedPrefix, window, manifestId);
  const log = deps.logger.child({ window, manifestId });
  const manifest = repairManifest(
    {
      manifestId,
      window,
      startedAt,
      catalogId: deps.catalogId,
      syncedPrefix: deps.syncedPrefix,
      reportKey,
      payloadBytes: (items) => deps.client.payloadBytes(items),
    },
    chunks,
  );
  await Promise.all(
    chunks.map((chunk, index) =>
      deps.manifests.writePayload(
        payloadKey(deps.syncedPrefix, manifestId, index),
        repairPayload(manifestId, index, chunk),
      ),
    ),
  );
  let current = await deps.manifests.create(key, manifest);
  const decided = decidedUpdates(chunks, key, deps.now(), (id) => snapshot.get(id)?.settleUntil);
  await deps.state.merge(decided, snapshot, lease.token);
  log.info('drift repair decided', {
    stage: 'drift-repair-decided',
    items: manifest.counts.items,
    batches: chunks.length,
    report: reportKey,
  });

  for (const [index, chunk] of chunks.entries()) {
    let accepted;
    try {
      current = await markAttempted(deps.manifests, key, current, index);
      await lease.ensure(deps.requestTimeoutMs);
      accepted = await deps.client.itemsBatch(
        chunk.map((c) => c.item),
        { signal },
      );
    } catch (err) {
      const decision = decideError(err);
      if (decision.kind === 'halt') throw asHalted(err, decision.graph);
      // The batches left unsent are sent again by the status poller, through the gate, with their stamps.
      log.warn('drift repair: items_batch not accepted; the rest is left to the status poller', {
        batchIndex: index,
        err,
      });
      break;
    }
    calls.itemsBatch++;
    deps.metrics?.count('BatchCalls');
    deps.metrics?.count('ItemsSent', chunk.length);
    const acceptedAt = new Date(deps.now()).toISOString();
    current = await deps.manifests.update(key, current, (m) =>
      recordAccepted(m, index, accepted, acceptedAt),
    );
  }
  const submittedAt = new Date(deps.now()).toISOString();
  current = await deps.manifests.update(key, current, (m) =>
    m.state === 'pending' ? { ...m, state: 'submitted', submittedAt } : null,
  );
  log.info('drift repair submitted', {
    stage: 'drift-repair-submitted',
    batches: current.value.batches.length,
  });
  return { key, manifest: current };
}
