import { UPDATE_RECORD_OVERHEAD } from './chunking.ts';
import { payloadOrigins } from './flush-plan.ts';
import type { IndexEntry, WindowSource } from './window-buffer.ts';

/**
 * A batch's payload object and the size of its items_batch body, made from the items' JSON as it was
 * spooled at intake, instead of parsing every item back and serialising it again: for a window of a
 * million rows that round trip cost more than the whole rest of the flush's CPU. Both give exactly the
 * bytes `JSON.stringify` gives for the parsed items (`payloadBody`, and the client's `itemsBatchBody`);
 * test/worker/payload-json.test.ts holds them equal. They rely on the spool holding `JSON.stringify`'s
 * own output, which serialises again to the same text.
 */

/** The JSON of `payloadBody(manifestId, index, chunk, items, sources)`, with `itemJsons` the items' JSON. */
export function payloadJson(
  manifestId: string,
  index: number,
  chunk: readonly IndexEntry[],
  itemJsons: readonly string[],
  sources: readonly WindowSource[],
): string {
  if (itemJsons.length !== chunk.length) {
    throw new Error(`payload ${index}: ${itemJsons.length} items for ${chunk.length} products`);
  }
  const requests = itemJsons.map((json) => `{"method":"UPDATE","data":${json}}`).join(',');
  const origins = JSON.stringify(payloadOrigins(chunk, sources));
  return `{"manifestId":${JSON.stringify(manifestId)},"batchIndex":${index},"requests":[${requests}],"origins":${origins}}`;
}

/**
 * The byte length of the UPDATE items_batch body of these products, from their spooled lengths:
 * the empty body's bytes (the client's own, with its proof) plus `{"method":"UPDATE","data":…}` per item
 * and the commas between them.
 */
export function updateBodyBytes(chunk: readonly Pick<IndexEntry, 'len'>[], emptyBodyBytes: number): number {
  let bytes = emptyBodyBytes;
  for (const e of chunk) bytes += e.len + UPDATE_RECORD_OVERHEAD;
  // UPDATE_RECORD_OVERHEAD counts a comma after every item; the last one has none.
  return chunk.length > 0 ? bytes - 1 : bytes;
}
