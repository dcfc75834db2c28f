import type { FinalBatch, Manifest, RunningBatch } from '../contract/manifest.ts';
import type { MetaRejection, UnknownItem } from '../contract/reports.ts';
import type { Logger } from '../logger.ts';
import { failpoint } from '../failpoints.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { BatchStatus, CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { AbortedError, sleep as defaultSleep } from '../shared/backoff.ts';
import { asHalted, decideError } from './error-policy.ts';
import { SubmissionHaltedError } from './errors.ts';
import { batchesToResend, computeCounts, finalizeBatch, resendDepth } from './manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { Versioned } from '../shared/s3-json.ts';

/**
 * Follows a submitted manifest until every item is accepted, rejected by Meta with its reason, or
 * superseded by a newer send: polls check_batch_request_status with doubling waits, records each final
 * status (with every rejected id and Meta's reason) in the manifest and in the product state, sends items
 * of unknown fate again through the send gate (resend.ts) with growing waits, and only then moves the
 * manifest to `finished` and writes Meta's rejections to errors/meta/.
 *
 * Unknown is never delivered: past the retry limit the manifest stays `submitted`, a report names every
 * item still unknown, and the ItemsUnknownFate metric counts them; a DAG re-check or a restart tries
 * again. Past the polling deadline the manifest also stays `submitted` for a later re-check.
 */

export interface PollDeps {
  client: CatalogClient;
  manifests: ManifestStore;
  state: ProductStateStore;
  logger: Logger;
  now: () => number;
  initialMs: number;
  maxMs: number;
  deadlineMs: number;
  /** Sends of one item, after its first, before its fate is reported as unknown. */
  unknownRetryMax: number;
  /** Wait before the first resend; doubles for each further one. */
  unknownRetryBaseMs: number;
  resend: (key: string, signal: AbortSignal) => Promise<Versioned<Manifest>>;
  writeMetaReport: (manifest: Manifest, rejected: MetaRejection[]) => Promise<string>;
  writeUnknownReport: (manifest: Manifest, items: UnknownItem[]) => Promise<string>;
  metrics?: ServiceMetrics | undefined;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type PollOutcome = 'finished' | 'deadline' | 'not-submitted' | 'unresolved';

export async function pollManifest(
  deps: PollDeps,
  key: string,
  start: Versioned<Manifest>,
  signal: AbortSignal,
  options: { extraRetries?: number } = {},
): Promise<PollOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const log = deps.logger.child({ window: start.value.window, manifestId: start.value.manifestId });
  if (start.value.state !== 'submitted') return 'not-submitted';
  const retryLimit = deps.unknownRetryMax + (options.extraRetries ?? 0);
  let current = start;
  let delay = deps.initialMs;
  const deadline = deps.now() + deps.deadlineMs;
  for (;;) {
    const running = current.value.batches.filter((b): b is RunningBatch => b.status === 'running');
    if (running.length === 0) {
      const toResend = batchesToResend(current.value);
      if (toResend.length === 0) return finish(deps, key, current, log);
      // How often these items were sent already: an `error` batch is one send, an unsent one none.
      const sends = Math.max(
        ...toResend.map((b) => resendDepth(current.value.batches, b.index) + (b.status === 'unsent' ? 0 : 1)),
      );
      if (sends > retryLimit) {
        await reportUnknown(deps, current.value, log);
        return 'unresolved';
      }
      const waitMs = sends === 0 ? 0 : deps.unknownRetryBaseMs * 2 ** (sends - 1);
      log.warn('items of unknown fate; sending them again through the send gate', {
        stage: 'resend',
        batches: toResend.map((b) => b.index),
        sends,
        waitMs,
      });
      await sleep(waitMs, signal);
      try {
        current = await deps.resend(key, signal);
      } catch (err) {
        // A lost lease aborts only the resend (not `signal`): that is tried again like any failure.
        if (signal.aborted) throw err;
        const decision = decideError(err);
        if (decision.kind === 'halt') throw asHalted(err, decision.graph);
        log.warn('resend failed; tried again after the next wait', { err });
        current = (await deps.manifests.read(key)) ?? current;
        if (current.value.batches.every((b) => b.status !== 'unsent'))
          await sleep(deps.unknownRetryBaseMs, signal);
      }
      delay = deps.initialMs;
      continue;
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
        const decision = decideError(err, { aborted: signal.aborted });
        if (decision.kind === 'aborted') throw new AbortedError('polling aborted');
        // Only Meta's own answers mean "poll again"; anything else ends this poll (a re-check resumes it).
        if (!(err instanceof GraphApiError)) throw err;
        if (decision.kind === 'halt') throw new SubmissionHaltedError(decision.graph);
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
      failpoint('poll.after-batch-final');
      await settleProducts(deps, key, final);
      log.info('batch final', {
        handle: batch.handle,
        batchIndex: batch.index,
        status: status.kind,
        rejected: final.rejected.length,
        errorsTotal: status.errorsTotal,
      });
    }
    delay = Math.min(delay * 2, deps.maxMs);
  }
}

/** Closes the products' open sends of a final batch: accepted keeps the content hash, anything else clears it. */
export async function settleProducts(
  deps: Pick<PollDeps, 'manifests' | 'state'>,
  key: string,
  batch: FinalBatch,
): Promise<void> {
  if (batch.itemCount === 0) return;
  const payload = await deps.manifests.readPayload(batch.payloadKey);
  const rejected = new Set(batch.rejected.map((r) => r.id));
  const updates = new Map<string, StateUpdate>();
  for (const r of payload.requests) {
    const id = String((r.data as { id: string }).id);
    const accepted = batch.status === 'finished' && !rejected.has(id);
    updates.set(id, { kind: 'settled', manifestKey: key, batch: batch.index, accepted });
  }
  await deps.state.merge(updates);
}

async function finish(
  deps: PollDeps,
  key: string,
  current: Versioned<Manifest>,
  log: Logger,
): Promise<PollOutcome> {
  const m = current.value;
  const counts = computeCounts(m.batches, m.counts.rowsRejected ?? 0);
  if (counts.unknown > 0) {
    // Only a manifest from an older version can get here (full resends counted twice): never call it done.
    log.error('manifest has items of unknown fate and nothing left to resend; it stays submitted', {
      counts,
    });
    await reportUnknown(deps, m, log);
    return 'unresolved';
  }
  const rejected: MetaRejection[] = [];
  for (const b of m.batches) {
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
  failpoint('poll.inside-finish');
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
  return 'finished';
}

/** Names every item still of unknown fate (file, line, why) in errors/unknown/, and counts them in a metric. */
async function reportUnknown(deps: PollDeps, m: Manifest, log: Logger): Promise<void> {
  const items: UnknownItem[] = [];
  for (const b of batchesToResend(m)) {
    const payload = await deps.manifests.readPayload(b.payloadKey);
    const rejected = new Set(b.status === 'error' ? b.rejected.map((r) => r.id) : []);
    const sends = resendDepth(m.batches, b.index) + (b.status === 'unsent' ? 0 : 1);
    const why =
      b.status === 'unsent'
        ? 'no items_batch call for it was accepted'
        : `Meta ended its batch in status error ${sends} time(s) without naming it`;
    for (const o of payload.origins) {
      if (!rejected.has(o.id)) items.push({ id: o.id, key: o.key, line: o.line, batchIndex: b.index, why });
    }
  }
  const reportKey = await deps.writeUnknownReport(m, items);
  deps.metrics?.count('ItemsUnknownFate', items.length);
  log.error(
    'items of unknown fate after the automatic resends; the manifest stays submitted and its files in landing/',
    {
      alert: 'items-unknown-fate',
      items: items.length,
      report: reportKey,
    },
  );
}
