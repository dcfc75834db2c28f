import type { Logger } from '../logger.ts';
import { failpoint } from '../failpoints.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { ItemsBatchAccepted } from '../meta/types.ts';
import { LeaseLostError, type HeldLease } from '../state/catalog-lease.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { AbortedError, backoffDelay, sleep as defaultSleep } from '../shared/backoff.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { decideError } from './error-policy.ts';
import { FlushRefusedError, SubmissionHaltedError } from './errors.ts';
import { writeBatch } from './flush-payloads.ts';
import type { FlushDeps } from './flush-deps.ts';
import type { FinalBatch, Manifest, ManifestBatch, RunningBatch } from '../contract/manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { IndexEntry, WindowBuffer } from './window-buffer.ts';

/**
 * The sending half of a flush, once its manifest is `pending` and its products' state `decided`: one
 * items_batch call per unsent batch, its items read back from the window's spool files one batch at a
 * time; each handle recorded as it comes; throttling and outages waited out with backoff; a body too
 * large split in two. After a failure, the batches Meta certainly never accepted release their products.
 */

/** Sends every unsent batch; waits out throttling and outages; records each handle as it comes. */
export async function submitBatches(
  deps: FlushDeps,
  key: string,
  start: Versioned<Manifest>,
  chunkOf: Map<number, IndexEntry[]>,
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
    // Read back before the attempt is recorded: a spool that cannot be read never reached Meta.
    const items = buffer.items(chunk);
    let accepted: ItemsBatchAccepted;
    try {
      throwIfAborted(signal, lease);
      current = await markAttempted(deps.manifests, key, current, next.index);
      await lease.ensure(deps.requestTimeoutMs);
      accepted = await deps.client.itemsBatch(items, { signal });
    } catch (err) {
      // No answer (timeout, network, abort mid-call): Meta may have accepted it.
      if (!(err instanceof GraphApiError) || err.httpStatus === null) ambiguous.add(next.index);
      throwIfAborted(signal, lease);
      const decision = decideError(err);
      // Only Meta's own answers are handled here; anything else fails the flush (the flush runner retries it).
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
  chunkOf: Map<number, IndexEntry[]>,
  buffer: WindowBuffer,
  lease: HeldLease,
): Promise<Versioned<Manifest>> {
  const chunk = chunkOf.get(index)!;
  const half = Math.ceil(chunk.length / 2);
  const newIndex = current.value.batches.length;
  const manifestId = current.value.manifestId;
  chunkOf.set(index, chunk.slice(0, half));
  chunkOf.set(newIndex, chunk.slice(half));
  const first = await writeBatch(deps, buffer, manifestId, index, chunkOf.get(index)!);
  const second = await writeBatch(deps, buffer, manifestId, newIndex, chunkOf.get(newIndex)!);
  const updated = await deps.manifests.update(key, current, (m) => {
    m.batches[index] = first;
    m.batches.push(second);
    return m;
  });
  // The moved items' open sends now live in the new batch: settling must find them there.
  const snapshot = await deps.state.read(chunkOf.get(newIndex)!.map((c) => c.id));
  const moved = new Map<string, StateUpdate>();
  for (const c of chunkOf.get(newIndex)!) {
    const e = snapshot.get(c.id);
    if (e && e.manifestKey === key && e.batchIndex === index)
      moved.set(c.id, { kind: 'decided', entry: { ...e, batchIndex: newIndex } });
  }
  await deps.state.merge(moved, snapshot, lease.token);
  return updated;
}

/**
 * After a failed flush (its messages are released, parked or dead-lettered; a later flush covers its
 * files): batches that Meta certainly did not accept (every attempt got an answer that
 * refused it, or none was made) release their products, so a later send need not wait for them to
 * settle. Batches with an unanswered attempt (timeout, network) stay open until they settle.
 */
export async function cancelUnsent(
  deps: FlushDeps,
  key: string,
  manifestId: string,
  chunkOf: Map<number, IndexEntry[]>,
  ambiguous: Set<number>,
  log: Logger,
): Promise<void> {
  const got = await deps.manifests.read(key).catch(() => null);
  if (!got || got.value.manifestId !== manifestId) return;
  const updates = new Map<string, StateUpdate>();
  for (const b of got.value.batches) {
    if (b.status !== 'unsent' || ambiguous.has(b.index)) continue;
    for (const c of chunkOf.get(b.index) ?? []) {
      updates.set(c.id, { kind: 'settled', manifestKey: key, batch: b.index, accepted: false });
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
