import { manifestFolder, manifestKey, payloadKey } from '../contract/layout.ts';
import type { FinalBatch, Manifest, ManifestBatch, RunningBatch, UnsentBatch } from '../contract/manifest.ts';
import type { Logger } from '../logger.ts';
import { failpoint } from '../failpoints.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogClient, CatalogItem, ItemsBatchAccepted } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { LeaseLostError, type CatalogLease, type HeldLease } from '../state/catalog-lease.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { AbortedError, backoffDelay, sleep as defaultSleep, type BackoffPolicy } from '../shared/backoff.ts';
import { planChunks, updateRecordBytes } from './chunking.ts';
import { decideError } from './error-policy.ts';
import { FlushRefusedError, SubmissionHaltedError } from './errors.ts';
import { withLastValues } from '../guardrails/facts.ts';
import { findHeldCovering, type WindowGuard } from '../guardrails/window-check.ts';
import { gateUnderLease, type GateDeps } from './gated-send.ts';
import { covers, newManifestId, toManifestSource } from './manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import { mapLimit } from '../shared/map-limit.ts';
import type { Versioned } from '../shared/s3-json.ts';
import type { Candidate, WindowBuffer } from './window-buffer.ts';

/**
 * One flush of a closed window, up to the point where its messages may be deleted, all under the
 * catalog lease: send gate (state + earlier open sends) → manifest `pending` (with the exact payloads) →
 * product state `decided` (open, fenced by the lease token) → items_batch per chunk, each handle recorded
 * as it comes → `submitted`. Throttling and outages are waited out here with backoff (the messages stay
 * held); a refused token stops the flush with SubmissionHaltedError. Status polling happens afterwards
 * (status-poller.ts), once the messages are gone.
 *
 * The state is written before items_batch is called, so a crash between Meta accepting a batch and the
 * handle being recorded still leaves the product marked open: a later send of different content waits
 * for it to settle instead of racing a batch nobody can see.
 */

export interface FlushDeps extends GateDeps {
  client: CatalogClient;
  state: ProductStateStore;
  manifests: ManifestStore;
  lease: CatalogLease;
  logger: Logger;
  now: () => number;
  catalogId: string;
  syncedPrefix: string;
  batchMaxItems: number;
  maxPayloadBytes: number;
  /** How long the lease must stay ours for one items_batch call (the client's request timeout). */
  requestTimeoutMs: number;
  /** A pending manifest older than this whose files are being processed again was abandoned. */
  abandonAfterMs: number;
  retry: BackoffPolicy;
  metrics?: ServiceMetrics | undefined;
  /** The guardrails (src/guardrails/): a window that trips a rule is held, not sent. */
  guard?: WindowGuard | undefined;
}

export interface FlushResult {
  key: string;
  manifest: Versioned<Manifest>;
  /** False when nothing was sent: the manifest went straight to `finished` (or `held`). */
  needsPolling: boolean;
  /** A guardrail held the window: the manifest is `held`, nothing was sent. */
  held?: boolean;
}

/**
 * The items_batch calls a set of items takes: as few as possible within the item and byte limits, each
 * chunk measured with the client's own body. The flush and `catalog-sync plan` both use it, so a plan's
 * call estimate is what the flush then spends.
 */
export function planSendChunks<T extends { item: CatalogItem }>(
  client: Pick<CatalogClient, 'payloadBytes'>,
  limits: { batchMaxItems: number; maxPayloadBytes: number },
  toSend: readonly T[],
): T[][] {
  return planChunks(
    toSend,
    { maxItems: limits.batchMaxItems, maxBytes: limits.maxPayloadBytes },
    (cs) => client.payloadBytes(cs.map((c) => c.item)),
    // Each chunk is then measured exactly with the client's own body.
    (c) => updateRecordBytes(c.item),
  );
}

export async function flushWindow(
  deps: FlushDeps,
  buffer: WindowBuffer,
  signal: AbortSignal,
): Promise<FlushResult> {
  const lease = await deps.lease.acquire(signal);
  failpoint('flush.after-lease');
  try {
    return await flushUnderLease(deps, buffer, lease, AbortSignal.any([signal, lease.signal]));
  } finally {
    await lease.release();
  }
}

async function flushUnderLease(
  deps: FlushDeps,
  buffer: WindowBuffer,
  lease: HeldLease,
  signal: AbortSignal,
): Promise<FlushResult> {
  const startedAt = deps.now();
  const manifestId = newManifestId(buffer.window, startedAt);
  const key = manifestKey(deps.syncedPrefix, buffer.window, manifestId);
  const log = deps.logger.child({ window: buffer.window, manifestId });

  const gated = new Map([...buffer.candidates].map(([id, c]) => [id, { hash: c.hash, stamp: c.stamp }]));
  const { snapshot, verdicts } = await gateUnderLease(deps, gated, { resend: false }, lease, signal);
  failpoint('flush.after-state-read');
  const toSend: Candidate[] = [];
  const settlesAt = new Map<string, number>();
  const updates = new Map<string, StateUpdate>();
  for (const [id, c] of buffer.candidates) {
    const verdict = verdicts.get(id)!;
    const rows = buffer.sources[c.source]!.rows;
    if (verdict.kind === 'older') rows.older++;
    else if (verdict.kind === 'unchanged') {
      rows.unchanged++;
      const last = snapshot.get(id);
      if (verdict.bumpStamp && last) updates.set(id, { kind: 'bump', entry: { ...last, ...c.stamp } });
    } else {
      toSend.push(c);
      if (verdict.settlesAt !== null) settlesAt.set(id, verdict.settlesAt);
    }
  }
  if (buffer.keyTies > 0) {
    log.info('files created in the same second were ordered by key (numeric-aware)', {
      ties: buffer.keyTies,
    });
  }
  const chunks = planSendChunks(deps.client, deps, toSend);
  if (buffer.redelivered) await abandonEarlier(deps, buffer, key, log);
  const held =
    chunks.length > 0 && deps.guard
      ? await deps.guard.check({ toSend, snapshot, sources: buffer.sources, now: startedAt })
      : null;

  const iso = new Date(startedAt).toISOString();
  const chunkOf = new Map(chunks.map((c, i) => [i, c]));
  const manifest: Manifest = {
    schemaVersion: 1,
    manifestId,
    window: buffer.window,
    state: chunks.length > 0 ? (held ? 'held' : 'pending') : 'finished',
    createdAt: iso,
    updatedAt: iso,
    submittedAt: null,
    finishedAt: chunks.length > 0 ? null : iso,
    catalogId: deps.catalogId,
    sources: buffer.sources.map(toManifestSource),
    batches: chunks.map((c, i) => unsentBatch(deps, manifestId, i, c)),
    counts: {
      items: toSend.length,
      accepted: 0,
      rejected: 0,
      superseded: 0,
      unknown: toSend.length,
      rowsRejected: buffer.sources.reduce((n, s) => n + s.rows.rejected, 0),
      calls: 0,
    },
    errorReportKeys: [],
    ...(held ? { held } : {}),
  };
  const summary = {
    sources: manifest.sources.length,
    products: buffer.candidates.size,
    send: toSend.length,
    batches: chunks.length,
  };

  if (chunks.length === 0) {
    const created = await deps.manifests.create(key, manifest);
    await deps.state.merge(updates, snapshot, lease.token);
    await deps.guard?.afterSend({ toSend, snapshot, sources: buffer.sources });
    log.info('flush had nothing to send; manifest finished', { stage: 'manifest-finished', ...summary });
    return { key, manifest: created, needsPolling: false };
  }

  if (held) {
    // Nothing is sent and nothing enters the product state: the payloads and the manifest are the record.
    const again = buffer.redelivered
      ? await findHeldCovering(
          deps.manifests,
          manifestFolder(deps.syncedPrefix, buffer.window),
          buffer.sources,
        )
      : null;
    if (again) {
      log.info('these files are held already; the earlier hold stands', { held: again.key });
      return { key: again.key, manifest: again.manifest, needsPolling: false, held: true };
    }
    await mapLimit([...chunkOf], 8, ([i, c]) => writePayload(deps, manifestId, i, c, buffer));
    const created = await deps.manifests.create(key, manifest);
    await deps.state.merge(updates, snapshot, lease.token);
    deps.metrics?.count('WindowsHeld');
    log.error(
      'WINDOW HELD by a guardrail: nothing was sent. Check the evidence, then `catalog-sync release` or ' +
        '`catalog-sync discard` the manifest (status shows it).',
      {
        alert: 'window-held',
        stage: 'manifest-held',
        manifestKey: key,
        rules: held.rules.map((r) => r.message),
        ...summary,
      },
    );
    return { key, manifest: created, needsPolling: false, held: true };
  }

  await mapLimit([...chunkOf], 8, ([i, c]) => writePayload(deps, manifestId, i, c, buffer));
  let current = await deps.manifests.create(key, manifest);
  log.info('manifest written', { stage: 'manifest-written', ...summary });
  failpoint('flush.after-manifest-write');

  const at = deps.now();
  for (const [index, chunk] of chunkOf) {
    for (const c of chunk) {
      const u = settlesAt.get(c.item.id);
      updates.set(c.item.id, {
        kind: 'decided',
        entry: withLastValues(
          {
            contentHash: c.hash,
            ...c.stamp,
            manifestKey: key,
            batchIndex: index,
            decidedAt: at,
            open: true,
            ...(u ? { settleUntil: u } : {}),
          },
          c.item,
        ),
      });
    }
  }
  await deps.state.merge(updates, snapshot, lease.token);
  await deps.guard?.afterSend({ toSend, snapshot, sources: buffer.sources });
  log.info('product state: sends decided', { stage: 'state-updated', products: updates.size });
  failpoint('flush.after-intent-write');

  const ambiguous = new Set<number>();
  try {
    current = await submitBatches(deps, key, current, chunkOf, buffer, log, signal, lease, ambiguous);
  } catch (err) {
    await cancelUnsent(deps, key, current.value.manifestId, chunkOf, ambiguous, log);
    throw err;
  }
  return { key, manifest: current, needsPolling: true };
}

/**
 * After a failed flush (its messages are released, parked or dead-lettered; a later flush covers its
 * files): batches that Meta certainly did not accept (every attempt got an answer that
 * refused it, or none was made) release their products, so a later send need not wait for them to
 * settle. Batches with an unanswered attempt (timeout, network) stay open until they settle.
 */
async function cancelUnsent(
  deps: FlushDeps,
  key: string,
  manifestId: string,
  chunkOf: Map<number, Candidate[]>,
  ambiguous: Set<number>,
  log: Logger,
): Promise<void> {
  const got = await deps.manifests.read(key).catch(() => null);
  if (!got || got.value.manifestId !== manifestId) return;
  const updates = new Map<string, StateUpdate>();
  for (const b of got.value.batches) {
    if (b.status !== 'unsent' || ambiguous.has(b.index)) continue;
    for (const c of chunkOf.get(b.index) ?? []) {
      updates.set(c.item.id, { kind: 'settled', manifestKey: key, batch: b.index, accepted: false });
    }
  }
  try {
    await deps.state.merge(updates);
  } catch (err) {
    log.warn('could not release the products of unsent batches; they settle on their own', { err });
  }
  // Nothing of it was accepted: no flush will go on with it, so it must not keep its files from archiving.
  if (got.value.batches.every((b) => b.status === 'unsent')) {
    await deps.manifests
      .update(key, got, (m) => (m.state === 'pending' ? { ...m, state: 'abandoned' } : null))
      .catch((err: unknown) => log.warn('could not mark the failed flush abandoned', { err }));
  }
}

export function unsentBatch(
  deps: Pick<FlushDeps, 'syncedPrefix' | 'client'>,
  manifestId: string,
  index: number,
  chunk: Candidate[],
): UnsentBatch {
  return {
    index,
    itemCount: chunk.length,
    payloadKey: payloadKey(deps.syncedPrefix, manifestId, index),
    payloadBytes: deps.client.payloadBytes(chunk.map((c) => c.item)),
    handle: null,
    status: 'unsent',
    attempts: 0,
    resubmitOf: null,
    submittedAt: null,
    checkedAt: null,
  };
}

async function writePayload(
  deps: FlushDeps,
  manifestId: string,
  index: number,
  chunk: Candidate[],
  buffer: WindowBuffer,
): Promise<void> {
  await deps.manifests.writePayload(payloadKey(deps.syncedPrefix, manifestId, index), {
    manifestId,
    batchIndex: index,
    requests: chunk.map((c) => ({ method: 'UPDATE', data: c.item })),
    origins: chunk.map((c) => ({
      id: c.item.id,
      key: buffer.sources[c.source]!.key,
      line: c.line,
      ...(c.stamp.version !== undefined && c.stamp.version !== null ? { version: c.stamp.version } : {}),
    })),
  });
}

/** Sends every unsent batch; waits out throttling and outages; records each handle as it comes. */
async function submitBatches(
  deps: FlushDeps,
  key: string,
  start: Versioned<Manifest>,
  chunkOf: Map<number, Candidate[]>,
  buffer: WindowBuffer,
  log: Logger,
  signal: AbortSignal,
  lease: HeldLease,
  ambiguous: Set<number>,
): Promise<Versioned<Manifest>> {
  const sleep = deps.sleep ?? defaultSleep;
  let current = start;
  let failures = 0;
  for (;;) {
    const next = current.value.batches.find((b) => b.status === 'unsent');
    if (!next) break;
    const chunk = chunkOf.get(next.index)!;
    let accepted: ItemsBatchAccepted;
    try {
      throwIfAborted(signal, lease);
      current = await markAttempted(deps.manifests, key, current, next.index);
      await lease.ensure(deps.requestTimeoutMs);
      accepted = await deps.client.itemsBatch(
        chunk.map((c) => c.item),
        { signal },
      );
    } catch (err) {
      // No answer (timeout, network, abort mid-call): Meta may have accepted it.
      if (!(err instanceof GraphApiError) || err.httpStatus === null) ambiguous.add(next.index);
      throwIfAborted(signal, lease);
      const decision = decideError(err);
      // Only Meta's own answers are handled here; anything else fails the flush (worker.ts retries it).
      if (!(err instanceof GraphApiError) || decision.kind === 'aborted') throw err;
      if (decision.kind === 'retry' && decision.source !== 'meta') throw err;
      if (decision.kind === 'halt') throw new SubmissionHaltedError(err);
      if (decision.kind === 'refuse') throw new FlushRefusedError(err);
      if (decision.kind === 'split') {
        if (chunk.length === 1) throw new FlushRefusedError(err);
        current = await splitBatch(deps, key, current, next.index, chunkOf, buffer, lease);
        log.warn('items_batch body too large; batch split in two', {
          batchIndex: next.index,
          items: chunk.length,
        });
        continue;
      }
      failures++;
      const waitMs = backoffDelay(failures, deps.retry, err.retryAfterMs);
      if (decision.kind === 'wait') {
        deps.metrics?.count('Throttles');
        deps.metrics?.record('BudgetWaitMs', waitMs);
        if (waitMs >= WAIT_WORTH_RECORDING_MS) {
          current = await recordWaiting(
            deps,
            key,
            current,
            `${err.kind}${err.code ? ` (code ${err.code})` : ''}`,
            waitMs,
          );
        }
      }
      log.warn('items_batch not accepted; keeping the files held and retrying', {
        batchIndex: next.index,
        errorKind: err.kind,
        code: err.code,
        attempt: failures,
        waitMs,
      });
      await sleep(waitMs, signal);
      continue;
    }
    failpoint('flush.after-items-batch-accepted');
    failures = 0;
    const acceptedAt = deps.now();
    deps.metrics?.count('BatchCalls');
    deps.metrics?.count('ItemsSent', chunk.length);
    deps.metrics?.record('CallBudgetRemaining', deps.client.budgetRemaining());
    deps.metrics?.record('EndToEndLatencyMs', acceptedAt - Math.min(...chunk.map((c) => c.stamp.sourceTime)));
    const at = new Date(acceptedAt).toISOString();
    current = await deps.manifests.update(key, current, (m) => recordAccepted(m, next.index, accepted, at));
    log.info('items_batch accepted', {
      stage: 'items-batch-accepted',
      batchIndex: next.index,
      handle: accepted.handle,
      items: chunk.length,
      validationIssues: accepted.validation.length,
    });
    failpoint('flush.after-handle-recorded');
  }
  const at = new Date(deps.now()).toISOString();
  current = await deps.manifests.update(key, current, (m) =>
    m.state === 'submitted' ? null : { ...m, state: 'submitted', submittedAt: at },
  );
  log.info('manifest submitted', { stage: 'manifest-submitted', batches: current.value.batches.length });
  failpoint('flush.after-submitted');
  return current;
}

/**
 * Records that an items_batch call for this batch is about to be made, before it is made: an unsent
 * batch with no attempt certainly never reached Meta, so its products need not wait for it to settle.
 */
export async function markAttempted(
  manifests: ManifestStore,
  key: string,
  current: Versioned<Manifest>,
  index: number,
): Promise<Versioned<Manifest>> {
  if ((current.value.batches[index]?.attempts ?? 0) > 0) return current;
  return manifests.update(key, current, (m) => {
    const b = m.batches[index];
    if (!b || b.status !== 'unsent' || b.attempts > 0) return null;
    b.attempts = 1;
    return m;
  });
}

/** A lost lease is a transient failure (retried); any other abort ends the flush. */
function throwIfAborted(signal: AbortSignal, lease: HeldLease): void {
  if (!signal.aborted) return;
  if (lease.signal.aborted && signal.reason instanceof LeaseLostError) throw signal.reason;
  throw new AbortedError('flush aborted');
}

export function recordAccepted(
  m: Manifest,
  index: number,
  res: ItemsBatchAccepted,
  at: string,
): Manifest | null {
  const batch = m.batches[index];
  if (!batch || batch.status !== 'unsent') return null;
  let updated: ManifestBatch;
  if (res.handle) {
    updated = {
      ...batch,
      status: 'running',
      handle: res.handle,
      attempts: Math.max(1, batch.attempts),
      submittedAt: at,
    } satisfies RunningBatch;
  } else {
    // Meta ingested nothing: its first-pass validation is all we will ever learn about these items.
    const rejected = res.validation
      .filter((v) => v.errors.length > 0)
      .map((v) => ({ id: v.id, reason: v.errors.join('; ') }));
    updated = {
      ...batch,
      status: 'error',
      handle: null,
      attempts: Math.max(1, batch.attempts),
      submittedAt: at,
      checkedAt: at,
      finishedAt: at,
      errorsTotal: rejected.length,
      warningsTotal: res.validation.filter((v) => v.warnings.length > 0).length,
      rejected,
    } satisfies FinalBatch;
  }
  m.batches[index] = updated;
  m.counts.calls++;
  if (m.waiting) m.waiting = null;
  return m;
}

/** Waits this long or longer show in the manifest (and so in `status`); shorter ones only in the metric. */
const WAIT_WORTH_RECORDING_MS = 5000;

function recordWaiting(
  deps: FlushDeps,
  key: string,
  current: Versioned<Manifest>,
  reason: string,
  waitMs: number,
): Promise<Versioned<Manifest>> {
  const now = deps.now();
  const waiting = { reason, since: new Date(now).toISOString(), until: new Date(now + waitMs).toISOString() };
  return deps.manifests.update(key, current, (m) => ({ ...m, waiting }));
}

/** Replaces an unsent batch by its first half and appends its second half as a new batch. */
async function splitBatch(
  deps: FlushDeps,
  key: string,
  current: Versioned<Manifest>,
  index: number,
  chunkOf: Map<number, Candidate[]>,
  buffer: WindowBuffer,
  lease: HeldLease,
): Promise<Versioned<Manifest>> {
  const chunk = chunkOf.get(index)!;
  const half = Math.ceil(chunk.length / 2);
  const newIndex = current.value.batches.length;
  const manifestId = current.value.manifestId;
  chunkOf.set(index, chunk.slice(0, half));
  chunkOf.set(newIndex, chunk.slice(half));
  await writePayload(deps, manifestId, index, chunkOf.get(index)!, buffer);
  await writePayload(deps, manifestId, newIndex, chunkOf.get(newIndex)!, buffer);
  const updated = await deps.manifests.update(key, current, (m) => {
    m.batches[index] = unsentBatch(deps, manifestId, index, chunkOf.get(index)!);
    m.batches.push(unsentBatch(deps, manifestId, newIndex, chunkOf.get(newIndex)!));
    return m;
  });
  // The moved items' open sends now live in the new batch: settling must find them there.
  const snapshot = await deps.state.read(chunkOf.get(newIndex)!.map((c) => c.item.id));
  const moved = new Map<string, StateUpdate>();
  for (const c of chunkOf.get(newIndex)!) {
    const e = snapshot.get(c.item.id);
    if (e && e.manifestKey === key && e.batchIndex === index)
      moved.set(c.item.id, { kind: 'decided', entry: { ...e, batchIndex: newIndex } });
  }
  await deps.state.merge(moved, snapshot, lease.token);
  return updated;
}

/**
 * When files come again (redelivery, straggler), an earlier flush of the same file versions may have
 * died before items_batch accepted everything: its manifest is still `pending`. It is marked `abandoned`
 * (this flush covers its files now) once it is older than the visibility timeout, so no live worker
 * can still be working on it.
 */
async function abandonEarlier(
  deps: FlushDeps,
  buffer: WindowBuffer,
  ownKey: string,
  log: Logger,
): Promise<void> {
  const keys = (await deps.manifests.list(manifestFolder(deps.syncedPrefix, buffer.window))).filter(
    (k) => k !== ownKey,
  );
  const cutoff = deps.now() - deps.abandonAfterMs;
  await mapLimit(keys, 8, async (k) => {
    const got = await deps.manifests.read(k);
    if (!got || got.value.state !== 'pending' || Date.parse(got.value.createdAt) > cutoff) return;
    if (!buffer.sources.some((s) => covers(got.value, s))) return;
    await deps.manifests.update(k, got, (m) => (m.state === 'pending' ? { ...m, state: 'abandoned' } : null));
    log.info('earlier pending manifest abandoned; this flush covers its files', { abandoned: k });
  });
}
