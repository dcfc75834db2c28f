import { withLastValues } from '../guardrails/facts.ts';
import type { CatalogClient, CatalogItem } from '../meta/types.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { StateSnapshot } from '../state/product-state-store.ts';
import type { GateVerdict, StateUpdate } from '../state/send-gate.ts';
import { planChunks, updateRecordBytes, UPDATE_RECORD_OVERHEAD } from './chunking.ts';
import { payloadKey } from '../contract/layout.ts';
import { toManifestSource } from './manifest.ts';
import type { BatchPayload, HeldInfo, Manifest, UnsentBatch } from '../contract/manifest.ts';
import type { IndexEntry, WindowSource } from './window-buffer.ts';

/**
 * The pure part of a flush (flush.ts does the I/O): what the send gate's verdicts mean for a slice of
 * the window, how the products to send are cut into items_batch calls, and the documents the flush
 * writes (manifest draft, payload bodies, `decided` state entries). Nothing here reads an item: the
 * window's index entries carry what planning needs (the JSON length of each item in its spool file).
 */

export type Verdict = Exclude<GateVerdict, { kind: 'wait' }>;

/** What the flush does with one slice of the window, from the gate's verdicts. */
export interface SliceDecision {
  /** Products to send, in window order. */
  send: IndexEntry[];
  /** A send that must keep an earlier send's settle time (send-gate.ts rule 3). */
  settlesAt: Map<string, number>;
  /** Unchanged products whose stamp moves forward. */
  bumps: Map<string, StateUpdate>;
}

/**
 * Judged products of one slice → sends and stamp bumps; counts `older` and `unchanged` rows on the
 * sources they came from (the manifest's per-file counts).
 */
export function decideSlice(
  entries: readonly IndexEntry[],
  verdicts: ReadonlyMap<string, Verdict>,
  snapshot: Pick<StateSnapshot, 'get'>,
  sources: readonly WindowSource[],
): SliceDecision {
  const out: SliceDecision = { send: [], settlesAt: new Map(), bumps: new Map() };
  for (const e of entries) {
    const verdict = verdicts.get(e.id);
    if (!verdict) throw new Error(`the send gate returned no verdict for ${e.id}`);
    const rows = sources[e.source]!.rows;
    if (verdict.kind === 'older') rows.older++;
    else if (verdict.kind === 'unchanged') {
      rows.unchanged++;
      const last = snapshot.get(e.id);
      if (verdict.bumpStamp && last) out.bumps.set(e.id, { kind: 'bump', entry: { ...last, ...e.stamp } });
    } else {
      out.send.push(e);
      if (verdict.settlesAt !== null) out.settlesAt.set(e.id, verdict.settlesAt);
    }
  }
  return out;
}

/**
 * The items_batch calls a set of items takes: as few as possible within the item and byte limits, each
 * chunk measured with the client's own body. `catalog-sync plan` and drift repair use it, so a plan's
 * call estimate is what a send then spends.
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

/** Bytes an indexed item adds to an items_batch body: its JSON (as spooled) and `{"method":…}`. */
export function entryBytes(e: IndexEntry): number {
  return e.len + UPDATE_RECORD_OVERHEAD;
}

/**
 * The window's chunks as `planSendChunks` cuts them, from the spooled sizes alone. The flush then
 * measures each chunk with the client's own body once its items are read back, and halves one that is
 * over (the same rule `planChunks` applies), so the calls are the ones `planSendChunks` would plan.
 */
export function planEntryChunks(
  toSend: readonly IndexEntry[],
  limits: { batchMaxItems: number; maxPayloadBytes: number },
  emptyBodyBytes: number,
): IndexEntry[][] {
  return planChunks(
    toSend,
    { maxItems: limits.batchMaxItems, maxBytes: limits.maxPayloadBytes },
    (cs) => cs.reduce((n, e) => n + entryBytes(e), emptyBodyBytes),
    entryBytes,
  );
}

export function unsentBatch(
  syncedPrefix: string,
  manifestId: string,
  index: number,
  itemCount: number,
  payloadBytes: number,
): UnsentBatch {
  return {
    index,
    itemCount,
    payloadKey: payloadKey(syncedPrefix, manifestId, index),
    payloadBytes,
    handle: null,
    status: 'unsent',
    attempts: 0,
    resubmitOf: null,
    submittedAt: null,
    checkedAt: null,
  };
}

/** The body of one batch's payload object: the exact requests, and the row each item came from. */
export function payloadBody(
  manifestId: string,
  index: number,
  chunk: readonly IndexEntry[],
  items: readonly CatalogItem[],
  sources: readonly WindowSource[],
): BatchPayload {
  return {
    manifestId,
    batchIndex: index,
    requests: items.map((item) => ({ method: 'UPDATE', data: item })),
    origins: payloadOrigins(chunk, sources),
  };
}

/** Where each item of a batch came from: file key and line, and the row's version when it has one. */
export function payloadOrigins(
  chunk: readonly IndexEntry[],
  sources: readonly WindowSource[],
): BatchPayload['origins'] {
  return chunk.map((c) => ({
    id: c.id,
    key: sources[c.source]!.key,
    line: c.line,
    ...(c.stamp.version !== undefined && c.stamp.version !== null ? { version: c.stamp.version } : {}),
  }));
}

export interface ManifestDraft {
  manifestId: string;
  window: string;
  startedAt: number;
  catalogId: string;
  sources: readonly WindowSource[];
  batches: UnsentBatch[];
  items: number;
  held: HeldInfo | null;
}

/** The manifest a flush writes: `finished` with nothing to send, `held` by a guardrail, else `pending`. */
export function manifestDraft(d: ManifestDraft): Manifest {
  const iso = new Date(d.startedAt).toISOString();
  const some = d.batches.length > 0;
  return {
    schemaVersion: 1,
    manifestId: d.manifestId,
    window: d.window,
    state: some ? (d.held ? 'held' : 'pending') : 'finished',
    createdAt: iso,
    updatedAt: iso,
    submittedAt: null,
    finishedAt: some ? null : iso,
    catalogId: d.catalogId,
    sources: d.sources.map(toManifestSource),
    batches: d.batches,
    counts: {
      items: d.items,
      accepted: 0,
      rejected: 0,
      superseded: 0,
      unknown: d.items,
      rowsRejected: d.sources.reduce((n, s) => n + s.rows.rejected, 0),
      calls: 0,
    },
    errorReportKeys: [],
    ...(d.held ? { held: d.held } : {}),
  };
}

/** The `decided` entry of a product about to be sent in batch `batch` of manifest `key`. */
export function decidedEntry(
  e: IndexEntry,
  key: string,
  batch: number,
  at: number,
  settlesAt: number | undefined,
): ProductStateEntry {
  return withLastValues(
    {
      contentHash: e.hash,
      ...e.stamp,
      manifestKey: key,
      batchIndex: batch,
      decidedAt: at,
      open: true,
      ...(settlesAt ? { settleUntil: settlesAt } : {}),
    },
    e,
  );
}
