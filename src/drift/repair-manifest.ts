import { withLastValues } from '../guardrails/facts.ts';
import type { CatalogItem } from '../meta/types.ts';
import { payloadKey } from '../contract/layout.ts';
import type { BatchPayload, Manifest } from '../contract/manifest.ts';
import type { ProductStateEntry, SourceStamp } from '../contract/product-state.ts';
import { contentHash } from '../state/product-state.ts';
import type { StateUpdate } from '../state/send-gate.ts';

/**
 * The records of a drift repair, built without I/O: its manifest (no sources, `driftReport` naming the
 * report), the payload of each batch (each item with the source stamp of its last send), and the product
 * state's "decided" entries written before anything is sent.
 */

/** An item to send again, with the stamp of its last send and its state entry. */
export interface RepairCandidate {
  item: CatalogItem;
  stamp: SourceStamp;
  entry: ProductStateEntry;
}

/** The source stamp of an entry's last send. */
export function stampOf(entry: ProductStateEntry): SourceStamp {
  return {
    sourceTime: entry.sourceTime,
    sourceKey: entry.sourceKey,
    sequencer: entry.sequencer,
    etag: entry.etag ?? null,
    ...(entry.version !== undefined && entry.version !== null ? { version: entry.version } : {}),
  };
}

export interface RepairManifestInput {
  manifestId: string;
  window: string;
  startedAt: number;
  catalogId: string;
  syncedPrefix: string;
  reportKey: string;
  payloadBytes: (items: CatalogItem[]) => number;
}

export function repairManifest(input: RepairManifestInput, chunks: RepairCandidate[][]): Manifest {
  const { manifestId, syncedPrefix } = input;
  const iso = new Date(input.startedAt).toISOString();
  const items = chunks.reduce((n, c) => n + c.length, 0);
  return {
    schemaVersion: 1,
    manifestId,
    window: input.window,
    state: 'pending',
    createdAt: iso,
    updatedAt: iso,
    submittedAt: null,
    finishedAt: null,
    catalogId: input.catalogId,
    sources: [],
    batches: chunks.map((chunk, index) => ({
      index,
      itemCount: chunk.length,
      payloadKey: payloadKey(syncedPrefix, manifestId, index),
      payloadBytes: input.payloadBytes(chunk.map((c) => c.item)),
      handle: null,
      status: 'unsent' as const,
      attempts: 0,
      resubmitOf: null,
      submittedAt: null,
      checkedAt: null,
    })),
    counts: { items, accepted: 0, rejected: 0, superseded: 0, unknown: items, rowsRejected: 0, calls: 0 },
    errorReportKeys: [],
    driftReport: input.reportKey,
  };
}

export function repairPayload(
  manifestId: string,
  batchIndex: number,
  chunk: RepairCandidate[],
): BatchPayload {
  return {
    manifestId,
    batchIndex,
    requests: chunk.map((c) => ({ method: 'UPDATE', data: c.item })),
    origins: chunk.map((c) => ({
      id: c.item.id,
      key: c.stamp.sourceKey,
      line: 0,
      sourceTime: c.stamp.sourceTime,
      sequencer: c.stamp.sequencer,
      etag: c.stamp.etag ?? null,
      ...(c.stamp.version !== undefined && c.stamp.version !== null ? { version: c.stamp.version } : {}),
    })),
  };
}

/** The "decided" entries of the repair's items, keeping an unsent mark (`settleUntil`) later than `at`. */
export function decidedUpdates(
  chunks: RepairCandidate[][],
  manifestKey: string,
  at: number,
  unsentMark: (id: string) => number | undefined,
): Map<string, StateUpdate> {
  const decided = new Map<string, StateUpdate>();
  chunks.forEach((chunk, index) => {
    for (const c of chunk) {
      const u = unsentMark(c.item.id);
      decided.set(c.item.id, {
        kind: 'decided',
        entry: withLastValues(
          {
            contentHash: contentHash(c.item),
            ...c.stamp,
            manifestKey,
            batchIndex: index,
            decidedAt: at,
            open: true,
            ...(u !== undefined && u > at ? { settleUntil: u } : {}),
          },
          c.item,
        ),
      });
    }
  });
  return decided;
}
