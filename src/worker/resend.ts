import { payloadKey } from '../contract/layout.ts';
import type {
  BatchPayload,
  FinalBatch,
  Manifest,
  ManifestBatch,
  SupersededItem,
} from '../contract/manifest.ts';
import type { SourceStamp } from '../contract/product-state.ts';
import type { Logger } from '../logger.ts';
import { failpoint } from '../failpoints.ts';
import type { CatalogItem } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { CatalogLease, HeldLease } from '../state/catalog-lease.ts';
import { contentHash } from '../state/product-state.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { decideError } from './error-policy.ts';
import { SubmissionHaltedError } from './errors.ts';
import { markAttempted, recordAccepted } from './flush.ts';
import { gateUnderLease, type GateDeps } from './gated-send.ts';
import { batchesToResend } from './manifest.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { sourceStamp } from './window-buffer.ts';

/**
 * Sends again the items of a submitted manifest whose fate is unknown (their batch ended in `error`
 * without Meta naming them, or was never accepted), through the same send gate and under the same
 * catalog lease as a first send. Each item goes again only while its source is still the newest known
 * for its product; an item a newer source has overtaken is recorded as superseded, never sent. Every
 * resend is a new batch in the manifest (`resubmitOf`), with its own payload and handle.
 */

export interface ResendDeps extends GateDeps {
  lease: CatalogLease;
  syncedPrefix: string;
  requestTimeoutMs: number;
  metrics?: ServiceMetrics | undefined;
}

export async function resendUnknown(
  deps: ResendDeps,
  key: string,
  signal: AbortSignal,
): Promise<Versioned<Manifest>> {
  const lease = await deps.lease.acquire(signal);
  try {
    const sig = AbortSignal.any([signal, lease.signal]);
    let current = await deps.manifests.read(key);
    if (!current) throw new Error(`manifest ${key} is missing`);
    const log = deps.logger.child({ manifestId: current.value.manifestId, window: current.value.window });
    for (const parent of batchesToResend(current.value)) {
      current = await resendBatch(deps, key, current, parent, lease, log, sig);
    }
    return current;
  } finally {
    await lease.release();
  }
}

async function resendBatch(
  deps: ResendDeps,
  key: string,
  start: Versioned<Manifest>,
  parent: ManifestBatch,
  lease: HeldLease,
  log: Logger,
  signal: AbortSignal,
): Promise<Versioned<Manifest>> {
  const m = start.value;
  const payload = await deps.manifests.readPayload(parent.payloadKey);
  const rejected = new Set(
    parent.status === 'error' || parent.status === 'finished' ? parent.rejected.map((r) => r.id) : [],
  );
  const items = new Map<
    string,
    { data: CatalogItem; origin: BatchPayload['origins'][number]; stamp: SourceStamp }
  >();
  payload.requests.forEach((r, i) => {
    const data = r.data as CatalogItem;
    if (rejected.has(data.id)) return;
    const origin = payload.origins[i] ?? { id: data.id, key: '', line: 0 };
    items.set(data.id, { data, origin, stamp: stampOf(m, origin) });
  });
  const candidates = new Map(
    [...items].map(([id, it]) => [id, { hash: contentHash(it.data), stamp: it.stamp }]),
  );
  const { snapshot, verdicts } = await gateUnderLease(deps, candidates, { resend: true }, lease, signal);

  const send: string[] = [];
  const superseded: SupersededItem[] = [];
  for (const [id, v] of verdicts) {
    if (v.kind === 'send') send.push(id);
    else superseded.push({ id, by: snapshot.get(id)?.manifestKey ?? 'unknown' });
  }
  const index = m.batches.length;
  const childKey = payloadKey(deps.syncedPrefix, m.manifestId, index);
  await deps.manifests.writePayload(childKey, {
    manifestId: m.manifestId,
    batchIndex: index,
    requests: send.map((id) => ({ method: 'UPDATE', data: items.get(id)!.data })),
    origins: send.map((id) => items.get(id)!.origin),
  });
  const at = new Date(deps.now()).toISOString();
  const base = {
    index,
    itemCount: send.length,
    payloadKey: childKey,
    payloadBytes: send.length > 0 ? deps.client.payloadBytes(send.map((id) => items.get(id)!.data)) : 0,
    attempts: 0,
    resubmitOf: parent.index,
    superseded,
    submittedAt: null,
    checkedAt: null,
  };
  const child: ManifestBatch =
    send.length > 0
      ? { ...base, status: 'unsent', handle: null }
      : ({
          ...base,
          status: 'finished',
          handle: null,
          finishedAt: at,
          errorsTotal: 0,
          warningsTotal: 0,
          rejected: [],
        } satisfies FinalBatch);
  let current = await deps.manifests.update(key, start, (next) => {
    if (next.batches.some((b) => b.resubmitOf === parent.index)) return null;
    next.batches.push({ ...child, index: next.batches.length });
    return next;
  });
  const recorded = current.value.batches.find((b) => b.resubmitOf === parent.index)!;
  if (recorded.index !== index || send.length === 0) {
    log.info('items of unknown fate: none to send again', {
      batchIndex: parent.index,
      superseded: superseded.length,
    });
    return current;
  }

  const decided = new Map<string, StateUpdate>();
  const decidedAt = deps.now();
  for (const id of send) {
    const it = items.get(id)!;
    const settles = verdicts.get(id);
    const u = settles?.kind === 'send' ? settles.settlesAt : null;
    decided.set(id, {
      kind: 'decided',
      entry: {
        contentHash: candidates.get(id)!.hash,
        ...it.stamp,
        manifestKey: key,
        batchIndex: index,
        decidedAt: decidedAt,
        open: true,
        ...(u ? { settleUntil: u } : {}),
      },
    });
  }
  await deps.state.merge(decided, snapshot, lease.token);
  current = await markAttempted(deps.manifests, key, current, index);
  await lease.ensure(deps.requestTimeoutMs);
  let accepted;
  try {
    accepted = await deps.client.itemsBatch(
      send.map((id) => items.get(id)!.data),
      { signal },
    );
  } catch (err) {
    const decision = decideError(err);
    if (decision.kind === 'halt') throw new SubmissionHaltedError(decision.graph);
    throw err;
  }
  failpoint('retry.after-resend-accepted');
  deps.metrics?.count('BatchCalls');
  deps.metrics?.count('ItemsSent', send.length);
  const acceptedAt = new Date(deps.now()).toISOString();
  current = await deps.manifests.update(key, current, (next) =>
    recordAccepted(next, index, accepted, acceptedAt),
  );
  failpoint('retry.after-resend-recorded');
  log.info('items of unknown fate sent again', {
    stage: 'resend-accepted',
    batchIndex: parent.index,
    newBatchIndex: index,
    handle: accepted.handle,
    items: send.length,
    superseded: superseded.length,
  });
  return current;
}

/**
 * The source stamp of an item, from the manifest's record of its file (and the row's version). The one
 * definition: `catalog-sync release --dry-run` (guardrails/held-ops.ts) judges with it too.
 */
export function stampOf(m: Manifest, origin: BatchPayload['origins'][number]): SourceStamp {
  // A drift repair records each item's exact stamp: its items come from many files and uploads.
  if (typeof origin.sourceTime === 'number') {
    const version =
      origin.version === undefined || origin.version === null ? {} : { version: origin.version };
    return {
      sourceTime: origin.sourceTime,
      sourceKey: origin.key,
      sequencer: origin.sequencer ?? null,
      etag: origin.etag ?? null,
      ...version,
    };
  }
  // The newest version of that key in the window is the one the window sent.
  const sources = m.sources.filter((s) => s.key === origin.key);
  const src = sources.sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime))[0];
  const stamp = src
    ? sourceStamp({
        eventTime: Date.parse(src.eventTime),
        key: src.key,
        sequencer: src.sequencer,
        etag: src.etag,
      })
    : { sourceTime: 0, sourceKey: origin.key, sequencer: null };
  return origin.version === undefined || origin.version === null
    ? stamp
    : { ...stamp, version: origin.version };
}
