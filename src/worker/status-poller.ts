import type { Logger } from '../logger.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { BatchStatus, CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { AbortedError, sleep as defaultSleep } from './backoff.ts';
import { SubmissionHaltedError } from './errors.ts';
import {
  computeCounts,
  effectiveBatches,
  finalizeBatch,
  payloadKey,
  type Manifest,
  type RunningBatch,
} from './manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { MetaRejection } from './reports.ts';
import type { Versioned } from './s3-json.ts';

/**
 * Follows a submitted manifest until Meta has a final status for every batch: polls
 * check_batch_request_status with doubling waits, records each final status with every rejected id and
 * Meta's reason, re-sends once the items of a batch that ended in `error`, writes Meta's rejections to
 * errors/meta/ and moves the manifest to `finished`. Past the deadline the manifest stays `submitted`;
 * the DAG's status re-check (or the next start-up) picks it up again.
 */

export interface PollDeps {
  client: CatalogClient;
  manifests: ManifestStore;
  logger: Logger;
  now: () => number;
  syncedPrefix: string;
  initialMs: number;
  maxMs: number;
  deadlineMs: number;
  writeMetaReport: (manifest: Manifest, rejected: MetaRejection[]) => Promise<string>;
  /** Lets the product state forget sends Meta did not take, so an identical row is retried later. */
  forgetSends?: (manifestKey: string, ids: string[]) => Promise<void>;
  metrics?: ServiceMetrics | undefined;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type PollOutcome = 'finished' | 'deadline' | 'not-submitted';

export async function pollManifest(
  deps: PollDeps,
  key: string,
  start: Versioned<Manifest>,
  signal: AbortSignal,
): Promise<PollOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const log = deps.logger.child({ window: start.value.window, manifestId: start.value.manifestId });
  if (start.value.state !== 'submitted') return 'not-submitted';
  let current = start;
  let delay = deps.initialMs;
  const deadline = deps.now() + deps.deadlineMs;
  for (;;) {
    const running = current.value.batches.filter((b): b is RunningBatch => b.status === 'running');
    if (running.length === 0) {
      await finish(deps, key, current, log);
      return 'finished';
    }
    if (deps.now() >= deadline) {
      log.warn('status polling deadline reached; the manifest stays submitted for a later re-check', {
        running: running.map((b) => b.handle),
      });
      return 'deadline';
    }
    await sleep(delay, signal);
    log.info('polling batch status', { stage: 'polling', handles: running.map((b) => b.handle) });
    for (const batch of running) {
      let status: BatchStatus;
      try {
        status = await deps.client.checkBatchStatus(batch.handle, { signal });
      } catch (err) {
        if (signal.aborted) throw new AbortedError('polling aborted');
        if (!(err instanceof GraphApiError)) throw err;
        if (err.kind === 'auth' || err.kind === 'permission') throw new SubmissionHaltedError(err);
        log.warn('check_batch_request_status failed; will poll again', {
          handle: batch.handle,
          errorKind: err.kind,
          code: err.code,
        });
        delay = Math.max(delay, err.retryAfterMs ?? 0);
        continue;
      }
      if (status.kind === 'running') continue;
      const at = new Date(deps.now()).toISOString();
      const final = finalizeBatch(batch, status, at);
      current = await deps.manifests.update(key, current, (m) => {
        if (m.batches[batch.index]?.status !== 'running') return null;
        m.batches[batch.index] = final;
        return m;
      });
      log.info('batch final', {
        handle: batch.handle,
        batchIndex: batch.index,
        status: status.kind,
        rejected: final.rejected.length,
        errorsTotal: status.errorsTotal,
      });
      if (status.kind === 'error' && batch.resubmitOf === null) {
        current = await resubmit(deps, key, current, batch.index, log, signal);
      }
    }
    delay = Math.min(delay * 2, deps.maxMs);
  }
}

/** Meta's `error` means some rows may be unapplied: their items go once more as a new batch. */
async function resubmit(
  deps: PollDeps,
  key: string,
  current: Versioned<Manifest>,
  index: number,
  log: Logger,
  signal: AbortSignal,
): Promise<Versioned<Manifest>> {
  const original = current.value.batches[index]!;
  const payload = await deps.manifests.readPayload(original.payloadKey);
  const newIndex = current.value.batches.length;
  const manifestId = current.value.manifestId;
  const newKey = payloadKey(deps.syncedPrefix, manifestId, newIndex);
  await deps.manifests.writePayload(newKey, { ...payload, batchIndex: newIndex });
  let handle: string | null;
  try {
    const res = await deps.client.itemsBatch(
      payload.requests.map((r) => r.data as { id: string }),
      { signal },
    );
    handle = res.handle;
  } catch (err) {
    if (signal.aborted) throw new AbortedError('polling aborted');
    if (!(err instanceof GraphApiError)) throw err;
    if (err.kind === 'auth' || err.kind === 'permission') throw new SubmissionHaltedError(err);
    log.warn('re-sending the items of a batch in error failed; they count as unknown', {
      batchIndex: index,
      errorKind: err.kind,
    });
    return current;
  }
  if (!handle) return current;
  const at = new Date(deps.now()).toISOString();
  log.info('items of a batch in error sent again', { batchIndex: index, newBatchIndex: newIndex, handle });
  return deps.manifests.update(key, current, (m) => {
    if (m.batches.some((b) => b.resubmitOf === index)) return null;
    m.batches.push({
      index: m.batches.length,
      itemCount: original.itemCount,
      payloadKey: newKey,
      payloadBytes: original.payloadBytes,
      handle,
      status: 'running',
      attempts: 1,
      resubmitOf: index,
      submittedAt: at,
      checkedAt: null,
    });
    m.counts.calls++;
    return m;
  });
}

async function finish(deps: PollDeps, key: string, current: Versioned<Manifest>, log: Logger): Promise<void> {
  const m = current.value;
  const rejected: MetaRejection[] = [];
  for (const b of effectiveBatches(m.batches)) {
    if ((b.status !== 'finished' && b.status !== 'error') || b.rejected.length === 0) continue;
    const payload = await deps.manifests.readPayload(b.payloadKey);
    const origin = new Map(payload.origins.map((o) => [o.id, o]));
    for (const r of b.rejected) {
      const o = origin.get(r.id);
      rejected.push({
        id: r.id,
        reason: r.reason,
        batchIndex: b.index,
        key: o?.key ?? null,
        line: o?.line ?? null,
      });
    }
  }
  const reportKey = rejected.length > 0 ? await deps.writeMetaReport(m, rejected) : null;
  // Items of a batch that ended in `error` (even after its one resend) have an unknown fate: retry-able too.
  const notTaken = new Set(rejected.map((r) => r.id));
  for (const b of effectiveBatches(m.batches)) {
    if (b.status !== 'error') continue;
    const payload = await deps.manifests.readPayload(b.payloadKey);
    for (const r of payload.requests) notTaken.add(String((r.data as { id: string }).id));
  }
  if (notTaken.size > 0 && deps.forgetSends) await deps.forgetSends(key, [...notTaken]);
  const at = new Date(deps.now()).toISOString();
  const done = await deps.manifests.update(key, current, (next) => {
    if (next.state !== 'submitted') return null;
    next.state = 'finished';
    next.finishedAt = at;
    next.counts = { ...computeCounts(next.batches, next.counts.rowsRejected), calls: next.counts.calls };
    if (reportKey && !next.errorReportKeys.includes(reportKey)) next.errorReportKeys.push(reportKey);
    return next;
  });
  deps.metrics?.count('ItemsAccepted', done.value.counts.accepted);
  deps.metrics?.count('ItemsRejected', done.value.counts.rejected);
  log.info('manifest finished', {
    stage: 'manifest-finished',
    counts: done.value.counts,
    metaReport: reportKey,
  });
}
