import type { Logger } from '../logger.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogClient, ItemsBatchAccepted } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import { judgeRow, type StateUpdate } from '../state/state-filter.ts';
import { AbortedError, backoffDelay, sleep as defaultSleep, type BackoffPolicy } from './backoff.ts';
import { planChunks, updateRecordBytes } from './chunking.ts';
import { FlushRefusedError, SubmissionHaltedError } from './errors.ts';
import {
  covers,
  manifestFolder,
  manifestKey,
  newManifestId,
  payloadKey,
  toManifestSource,
  type FinalBatch,
  type Manifest,
  type ManifestBatch,
  type RunningBatch,
  type UnsentBatch,
} from './manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import { mapLimit } from '../map-limit.ts';
import type { Versioned } from './s3-json.ts';
import type { Candidate, WindowBuffer } from './window-buffer.ts';

/**
 * One flush of a closed window, up to the point where its messages may be deleted:
 * state check → manifest `pending` (with the exact payloads) → items_batch per chunk → `submitted` →
 * product state. Throttling and outages are waited out here with backoff (the messages stay held);
 * a refused token stops the flush with SubmissionHaltedError. Status polling happens afterwards
 * (status-poller.ts), once the messages are gone.
 */

export interface FlushDeps {
  client: CatalogClient;
  state: ProductStateStore;
  manifests: ManifestStore;
  logger: Logger;
  now: () => number;
  catalogId: string;
  syncedPrefix: string;
  batchMaxItems: number;
  maxPayloadBytes: number;
  /** A pending manifest older than this whose files are being processed again was abandoned. */
  abandonAfterMs: number;
  retry: BackoffPolicy;
  metrics?: ServiceMetrics | undefined;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface FlushResult {
  key: string;
  manifest: Versioned<Manifest>;
  /** False when nothing was sent: the manifest went straight to `finished`. */
  needsPolling: boolean;
}

export async function flushWindow(
  deps: FlushDeps,
  buffer: WindowBuffer,
  signal: AbortSignal,
): Promise<FlushResult> {
  const startedAt = deps.now();
  const manifestId = newManifestId(buffer.window, startedAt);
  const key = manifestKey(deps.syncedPrefix, buffer.window, manifestId);
  const log = deps.logger.child({ window: buffer.window, manifestId });

  const snapshot = await deps.state.read(buffer.candidates.keys());
  const toSend: Candidate[] = [];
  const updates = new Map<string, StateUpdate>();
  for (const [id, c] of buffer.candidates) {
    const last = snapshot.get(id);
    const verdict = judgeRow(c, last);
    const rows = buffer.sources[c.source]!.rows;
    if (verdict.kind === 'older') rows.older++;
    else if (verdict.kind === 'unchanged') {
      rows.unchanged++;
      if (verdict.bumpStamp && last) updates.set(id, { kind: 'bump', entry: { ...last, ...c.stamp } });
    } else toSend.push(c);
  }
  const chunks = planChunks(
    toSend,
    { maxItems: deps.batchMaxItems, maxBytes: deps.maxPayloadBytes },
    (cs) => deps.client.payloadBytes(cs.map((c) => c.item)),
    // Each chunk is then measured exactly with the client's own body.
    (c) => updateRecordBytes(c.item),
  );
  if (buffer.redelivered) await abandonEarlier(deps, buffer, key, log);

  const iso = new Date(startedAt).toISOString();
  const chunkOf = new Map(chunks.map((c, i) => [i, c]));
  const manifest: Manifest = {
    schemaVersion: 1,
    manifestId,
    window: buffer.window,
    state: chunks.length > 0 ? 'pending' : 'finished',
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
      unknown: toSend.length,
      rowsRejected: buffer.sources.reduce((n, s) => n + s.rows.rejected, 0),
      calls: 0,
    },
    errorReportKeys: [],
  };
  const summary = {
    sources: manifest.sources.length,
    products: buffer.candidates.size,
    send: toSend.length,
    batches: chunks.length,
  };

  if (chunks.length === 0) {
    const created = await deps.manifests.create(key, manifest);
    await deps.state.merge(updates, snapshot);
    log.info('flush had nothing to send; manifest finished', { stage: 'manifest-finished', ...summary });
    return { key, manifest: created, needsPolling: false };
  }

  await mapLimit([...chunkOf], 8, ([i, c]) => writePayload(deps, manifestId, i, c, buffer));
  let current = await deps.manifests.create(key, manifest);
  log.info('manifest written', { stage: 'manifest-written', ...summary });

  current = await submitBatches(deps, key, current, chunkOf, buffer, log, signal);

  const at = deps.now();
  for (const batch of current.value.batches) {
    if (batch.handle === null) continue;
    for (const c of chunkOf.get(batch.index) ?? []) {
      updates.set(c.item.id, { kind: 'sent', entry: { h: c.hash, ...c.stamp, m: key, b: batch.index, at } });
    }
  }
  await deps.state.merge(updates, snapshot);
  log.info('product state updated', { stage: 'state-updated', products: updates.size });
  return { key, manifest: current, needsPolling: true };
}

function unsentBatch(deps: FlushDeps, manifestId: string, index: number, chunk: Candidate[]): UnsentBatch {
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
    origins: chunk.map((c) => ({ id: c.item.id, key: buffer.sources[c.source]!.key, line: c.line })),
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
      if (signal.aborted) throw new AbortedError('flush aborted');
      accepted = await deps.client.itemsBatch(
        chunk.map((c) => c.item),
        { signal },
      );
    } catch (err) {
      if (signal.aborted) throw new AbortedError('flush aborted');
      if (!(err instanceof GraphApiError)) throw err;
      if (err.kind === 'auth' || err.kind === 'permission') throw new SubmissionHaltedError(err);
      if (err.kind === 'invalid-parameter') throw new FlushRefusedError(err);
      if (err.kind === 'payload-too-large') {
        if (chunk.length === 1) throw new FlushRefusedError(err);
        current = await splitBatch(deps, key, current, next.index, chunkOf, buffer);
        log.warn('items_batch body too large; batch split in two', {
          batchIndex: next.index,
          items: chunk.length,
        });
        continue;
      }
      failures++;
      if (err.kind === 'throttled' || err.kind === 'budget-exhausted') deps.metrics?.count('Throttles');
      const waitMs = backoffDelay(failures, deps.retry, err.retryAfterMs);
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
    failures = 0;
    const acceptedAt = deps.now();
    deps.metrics?.count('BatchCalls');
    deps.metrics?.count('ItemsSent', chunk.length);
    deps.metrics?.record('CallBudgetRemaining', deps.client.budgetRemaining());
    deps.metrics?.record('EndToEndLatencyMs', acceptedAt - Math.min(...chunk.map((c) => c.stamp.t)));
    const at = new Date(acceptedAt).toISOString();
    current = await deps.manifests.update(key, current, (m) => recordAccepted(m, next.index, accepted, at));
    log.info('items_batch accepted', {
      stage: 'items-batch-accepted',
      batchIndex: next.index,
      handle: accepted.handle,
      items: chunk.length,
      validationIssues: accepted.validation.length,
    });
  }
  const at = new Date(deps.now()).toISOString();
  current = await deps.manifests.update(key, current, (m) =>
    m.state === 'submitted' ? null : { ...m, state: 'submitted', submittedAt: at },
  );
  log.info('manifest submitted', { stage: 'manifest-submitted', batches: current.value.batches.length });
  return current;
}

function recordAccepted(m: Manifest, index: number, res: ItemsBatchAccepted, at: string): Manifest | null {
  const batch = m.batches[index];
  if (!batch || batch.status !== 'unsent') return null;
  let updated: ManifestBatch;
  if (res.handle) {
    updated = {
      ...batch,
      status: 'running',
      handle: res.handle,
      attempts: batch.attempts + 1,
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
      attempts: batch.attempts + 1,
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
  return m;
}

/** Replaces an unsent batch by its first half and appends its second half as a new batch. */
async function splitBatch(
  deps: FlushDeps,
  key: string,
  current: Versioned<Manifest>,
  index: number,
  chunkOf: Map<number, Candidate[]>,
  buffer: WindowBuffer,
): Promise<Versioned<Manifest>> {
  const chunk = chunkOf.get(index)!;
  const half = Math.ceil(chunk.length / 2);
  const newIndex = current.value.batches.length;
  const manifestId = current.value.manifestId;
  chunkOf.set(index, chunk.slice(0, half));
  chunkOf.set(newIndex, chunk.slice(half));
  await writePayload(deps, manifestId, index, chunkOf.get(index)!, buffer);
  await writePayload(deps, manifestId, newIndex, chunkOf.get(newIndex)!, buffer);
  return deps.manifests.update(key, current, (m) => {
    m.batches[index] = unsentBatch(deps, manifestId, index, chunkOf.get(index)!);
    m.batches.push(unsentBatch(deps, manifestId, newIndex, chunkOf.get(newIndex)!));
    return m;
  });
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
