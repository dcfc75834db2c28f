import type { Logger } from '../logger.ts';
import { failpoint } from '../failpoints.ts';
import type { HeldLease } from '../state/catalog-lease.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { StateSnapshot } from '../state/product-state-store.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { findHeldCovering } from '../guardrails/window-check.ts';
import type { FlushDeps } from './flush-deps.ts';
import { gateUnderLease } from './gated-send.ts';
import {
  decidedEntry,
  decideSlice,
  manifestDraft,
  planEntryChunks,
  type SliceDecision,
} from './flush-plan.ts';
import { writeBatches } from './flush-payloads.ts';
import { cancelUnsent, submitBatches } from './flush-submit.ts';
import { covers, newManifestId } from './manifest.ts';
import { manifestFolder, manifestKey } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import { mapLimit } from '../shared/map-limit.ts';
import type { Versioned } from '../shared/s3-json.ts';
import type { IndexEntry, WindowBuffer } from './window-buffer.ts';

export type { FlushDeps } from './flush-deps.ts';
export { planSendChunks } from './flush-plan.ts';
export { markAttempted, recordAccepted } from './flush-submit.ts';

/**
 * One flush of a closed window, up to the point where its messages may be deleted, all under the
 * catalog lease: send gate (state + earlier open sends) → manifest `pending` (with the exact payloads) →
 * product state `decided` (open, fenced by the lease token) → items_batch per chunk, each handle recorded
 * as it comes → `submitted` (flush-submit.ts). Throttling and outages are waited out there with backoff
 * (the messages stay held); a refused token stops the flush with SubmissionHaltedError. Status polling
 * happens afterwards (status-poller.ts), once the messages are gone.
 *
 * The state is written before items_batch is called, so a crash between Meta accepting a batch and the
 * handle being recorded still leaves the product marked open: a later send of different content waits
 * for it to settle instead of racing a batch nobody can see.
 *
 * Memory: the window is an index (window-buffer.ts), its items are in spool files. The gate reads and
 * judges the products a slice at a time (`stateSlice`), the payloads are built a chunk at a time
 * (flush-payloads.ts), the `decided` state is written a slice at a time, and each items_batch call reads
 * its chunk back. What the whole window holds is the index, a verdict per product (the products to send)
 * and the state read of the slices that send or bump something (needed to write over it).
 */

export interface FlushResult {
  key: string;
  manifest: Versioned<Manifest>;
  /** False when nothing was sent: the manifest went straight to `finished` (or `held`). */
  needsPolling: boolean;
  /** A guardrail held the window: the manifest is `held`, nothing was sent. */
  held?: boolean;
}

/** One slice of the window as the gate judged it: its decisions and the state they write over. */
interface JudgedSlice extends SliceDecision {
  /** Null when the slice writes nothing (every product older or unchanged without a bump). */
  snapshot: StateSnapshot | null;
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

/** The gate, a slice of the window at a time (one deadline for the whole window's waits). */
async function judgeWindow(
  deps: FlushDeps,
  buffer: WindowBuffer,
  lease: HeldLease,
  signal: AbortSignal,
): Promise<JudgedSlice[]> {
  const count = buffer.candidates.size;
  const size = Math.max(1, deps.stateSlice ?? count);
  const deadline = deps.now() + deps.waitDeadlineMs;
  const slices: JudgedSlice[] = [];
  for (let i = 0; i < count; i += size) {
    // Views of this slice's slots only; the ones to send stay for the rest of the flush (~24 B each).
    const part = buffer.candidates.entries(i, i + size);
    const gated = new Map(part.map((e) => [e.id, { hash: e.hash, stamp: e.stamp }]));
    const { snapshot, verdicts } = await gateUnderLease(
      deps,
      gated,
      { resend: false, deadline },
      lease,
      signal,
    );
    const decision = decideSlice(part, verdicts, snapshot, buffer.sources);
    const writes = decision.send.length + decision.bumps.size > 0;
    slices.push({ ...decision, snapshot: writes ? snapshot : null });
  }
  return slices;
}

/** The state read of the products to send, for the guardrails (their old values and which are new). */
function sendSnapshot(slices: readonly JudgedSlice[]): Map<string, ProductStateEntry> {
  const out = new Map<string, ProductStateEntry>();
  for (const s of slices) {
    for (const e of s.send) {
      const entry = s.snapshot?.get(e.id);
      if (entry) out.set(e.id, entry);
    }
  }
  return out;
}

/**
 * Writes each slice's state updates (stamp bumps, and with `decide` the `decided` entries of its
 * sends), each over the slice's own read; returns how many products were written.
 */
async function mergeSlices(
  deps: FlushDeps,
  slices: readonly JudgedSlice[],
  lease: HeldLease,
  decide: ((e: IndexEntry, settlesAt: number | undefined) => ProductStateEntry) | null,
): Promise<number> {
  let written = 0;
  for (const s of slices) {
    if (!s.snapshot) continue;
    const updates = new Map<string, StateUpdate>(s.bumps);
    if (decide) {
      for (const e of s.send) updates.set(e.id, { kind: 'decided', entry: decide(e, s.settlesAt.get(e.id)) });
    }
    await deps.state.merge(updates, s.snapshot, lease.token);
    written += updates.size;
  }
  return written;
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

  const slices = await judgeWindow(deps, buffer, lease, signal);
  failpoint('flush.after-state-read');
  const toSend = slices.flatMap((s) => s.send);
  if (buffer.keyTies > 0) {
    log.info('files created in the same second were ordered by key (numeric-aware)', {
      ties: buffer.keyTies,
    });
  }
  const planned = planEntryChunks(toSend, deps, deps.client.payloadBytes([]));
  if (buffer.redelivered) await abandonEarlier(deps, buffer, key, log);
  const guard = deps.guard;
  const guardInput = guard ? { toSend, snapshot: sendSnapshot(slices), sources: buffer.sources } : null;
  const held =
    planned.length > 0 && guard && guardInput ? await guard.check({ ...guardInput, now: startedAt }) : null;
  const draft = {
    manifestId,
    window: buffer.window,
    startedAt,
    catalogId: deps.catalogId,
    sources: buffer.sources,
    items: toSend.length,
    held,
  };
  const summary = { sources: buffer.sources.length, products: buffer.candidates.size, send: toSend.length };

  if (planned.length === 0) {
    const created = await deps.manifests.create(key, manifestDraft({ ...draft, batches: [] }));
    await mergeSlices(deps, slices, lease, null);
    if (guardInput) await guard?.afterSend(guardInput);
    log.info('flush had nothing to send; manifest finished', {
      stage: 'manifest-finished',
      ...summary,
      batches: 0,
    });
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
    const { batches } = await writeBatches(deps, buffer, manifestId, planned);
    const created = await deps.manifests.create(key, manifestDraft({ ...draft, batches }));
    await mergeSlices(deps, slices, lease, null);
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
        batches: batches.length,
      },
    );
    return { key, manifest: created, needsPolling: false, held: true };
  }

  const { batches, chunkOf } = await writeBatches(deps, buffer, manifestId, planned);
  let current = await deps.manifests.create(key, manifestDraft({ ...draft, batches }));
  log.info('manifest written', { stage: 'manifest-written', ...summary, batches: batches.length });
  failpoint('flush.after-manifest-write');

  const at = deps.now();
  // The batch of each product by its position in the window: 4 bytes a product.
  const batchOf = new Int32Array(buffer.candidates.size);
  for (const [index, chunk] of chunkOf) for (const e of chunk) batchOf[e.n] = index;
  const written = await mergeSlices(deps, slices, lease, (e, u) =>
    decidedEntry(e, key, batchOf[e.n]!, at, u),
  );
  if (guardInput) await guard?.afterSend(guardInput);
  log.info('product state: sends decided', { stage: 'state-updated', products: written });
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
