import type { CatalogClient } from '../meta/types.ts';
import { fitBytes } from './chunking.ts';
import { unsentBatch } from './flush-plan.ts';
import { payloadJson, updateBodyBytes } from './payload-json.ts';
import { payloadKey } from '../contract/layout.ts';
import type { UnsentBatch } from '../contract/manifest.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { IndexEntry, WindowBuffer } from './window-buffer.ts';

/**
 * The payload objects of a flush (the exact items_batch requests each manifest batch names), built from
 * the window's spool files one chunk at a time: a chunk's items are read back as the JSON they were
 * spooled as, measured as the client's body (halved while over the byte limit), spliced into the payload
 * (payload-json.ts) and written while the next chunk is read. At most two payloads are in memory at once,
 * whatever the size of the window.
 */

export interface PayloadDeps {
  client: Pick<CatalogClient, 'payloadBytes'>;
  manifests: Pick<ManifestStore, 'writePayloadJson'>;
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
  const emptyBody = deps.client.payloadBytes([]);
  let writing: Promise<void> | null = null;
  for (const chunk of planned) {
    const jsons = buffer.itemJsons(chunk);
    // fitBytes halves in order, so its parts are consecutive runs of the chunk.
    let from = 0;
    for (const part of fitBytes([...chunk], deps.maxPayloadBytes, (es) => updateBodyBytes(es, emptyBody))) {
      const index = out.batches.length;
      const bytes = updateBodyBytes(part, emptyBody);
      out.batches.push(unsentBatch(deps.syncedPrefix, manifestId, index, part.length, bytes));
      out.chunkOf.set(index, part);
      const partJsons = jsons.slice(from, (from += part.length));
      const body = payloadJson(manifestId, index, part, partJsons, buffer.sources);
      // One write in flight while the next body is built: two bodies in memory at most.
      await writing;
      writing = deps.manifests.writePayloadJson(payloadKey(deps.syncedPrefix, manifestId, index), body);
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
  const bytes = updateBodyBytes(chunk, deps.client.payloadBytes([]));
  await deps.manifests.writePayloadJson(
    payloadKey(deps.syncedPrefix, manifestId, index),
    payloadJson(manifestId, index, chunk, buffer.itemJsons(chunk), buffer.sources),
  );
  return unsentBatch(deps.syncedPrefix, manifestId, index, chunk.length, bytes);
}
