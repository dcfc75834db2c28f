import type { CatalogClient, CatalogItem } from '../meta/types.ts';
import { fitBytes } from './chunking.ts';
import { payloadBody, unsentBatch } from './flush-plan.ts';
import { payloadKey } from '../contract/layout.ts';
import type { UnsentBatch } from '../contract/manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { IndexEntry, WindowBuffer } from './window-buffer.ts';

/**
 * The payload objects of a flush (the exact items_batch requests each manifest batch names), built from
 * the window's spool files one chunk at a time: a chunk's items are read back, measured with the client's
 * own body (halved while over the byte limit), and written while the next chunk is read. At most two
 * bodies are in memory at once, whatever the size of the window.
 */

export interface PayloadDeps {
  client: Pick<CatalogClient, 'payloadBytes'>;
  manifests: Pick<ManifestStore, 'writePayload'>;
  syncedPrefix: string;
  maxPayloadBytes: number;
}

/** The batches of a flush: the manifest's entries, and the products of each batch by index. */
export interface WrittenBatches {
  batches: UnsentBatch[];
  chunkOf: Map<number, IndexEntry[]>;
}

export async function writeBatches(
  deps: PayloadDeps,
  buffer: WindowBuffer,
  manifestId: string,
  planned: readonly IndexEntry[][],
): Promise<WrittenBatches> {
  const out: WrittenBatches = { batches: [], chunkOf: new Map() };
  let writing: Promise<void> | null = null;
  for (const chunk of planned) {
    const items = buffer.items(chunk);
    for (const part of fitChunk(deps, chunk, items)) {
      const index = out.batches.length;
      out.batches.push(unsentBatch(deps.syncedPrefix, manifestId, index, part.entries.length, part.bytes));
      out.chunkOf.set(index, part.entries);
      const body = payloadBody(manifestId, index, part.entries, part.items, buffer.sources);
      // One write in flight while the next body is built: two bodies in memory at most.
      await writing;
      writing = deps.manifests.writePayload(payloadKey(deps.syncedPrefix, manifestId, index), body);
    }
  }
  await writing;
  return out;
}

/** Writes the payload of one batch (a split batch's halves); returns its manifest entry. */
export async function writeBatch(
  deps: PayloadDeps,
  buffer: WindowBuffer,
  manifestId: string,
  index: number,
  chunk: readonly IndexEntry[],
): Promise<UnsentBatch> {
  const items = buffer.items(chunk);
  const bytes = deps.client.payloadBytes(items);
  await deps.manifests.writePayload(
    payloadKey(deps.syncedPrefix, manifestId, index),
    payloadBody(manifestId, index, chunk, items, buffer.sources),
  );
  return unsentBatch(deps.syncedPrefix, manifestId, index, chunk.length, bytes);
}

interface MeasuredPart {
  entries: IndexEntry[];
  items: CatalogItem[];
  bytes: number;
}

function fitChunk(
  deps: PayloadDeps,
  chunk: readonly IndexEntry[],
  items: readonly CatalogItem[],
): MeasuredPart[] {
  const pairs = chunk.map((e, i) => ({ e, item: items[i]! }));
  const parts = fitBytes(pairs, deps.maxPayloadBytes, (ps) =>
    deps.client.payloadBytes(ps.map((p) => p.item)),
  );
  return parts.map((ps) => {
    const partItems = ps.map((p) => p.item);
    return { entries: ps.map((p) => p.e), items: partItems, bytes: deps.client.payloadBytes(partItems) };
  });
}
