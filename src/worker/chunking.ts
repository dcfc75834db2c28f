/**
 * Splits a flush's items into items_batch calls: as few as possible, each at most `maxItems` items and at
 * most `maxBytes` of request body. Per-item sizes are estimated once (measuring every growing chunk would
 * be quadratic); each finished chunk is then measured exactly and halved if the estimate was short.
 */
export function planChunks<T>(
  items: readonly T[],
  limits: { maxItems: number; maxBytes: number },
  bodyBytes: (items: T[]) => number,
  /** A cheaper per-item size (bytes an item adds to the body); measured through bodyBytes when absent. */
  itemBytes?: (item: T) => number,
): T[][] {
  if (items.length === 0) return [];
  const base = bodyBytes([]);
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = base;
  for (const item of items) {
    // +1 for the comma between array elements.
    const bytes = itemBytes ? itemBytes(item) : bodyBytes([item]) - base + 1;
    if (current.length > 0 && (current.length >= limits.maxItems || size + bytes > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      size = base;
    }
    current.push(item);
    size += bytes;
  }
  chunks.push(current);
  return chunks.flatMap((c) => fitBytes(c, limits.maxBytes, bodyBytes));
}

/** Halves a chunk until every part's body is within `maxBytes` (a single item is left as it is). */
export function fitBytes<T>(chunk: T[], maxBytes: number, bodyBytes: (items: T[]) => number): T[][] {
  if (chunk.length <= 1 || bodyBytes(chunk) <= maxBytes) return [chunk];
  const half = Math.ceil(chunk.length / 2);
  return [
    ...fitBytes(chunk.slice(0, half), maxBytes, bodyBytes),
    ...fitBytes(chunk.slice(half), maxBytes, bodyBytes),
  ];
}

/** What `{"method":"UPDATE","data":…}` and its comma add to an item's JSON in an items_batch body. */
export const UPDATE_RECORD_OVERHEAD = 28;

/** Bytes one item adds to an items_batch JSON body. */
export function updateRecordBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item)) + UPDATE_RECORD_OVERHEAD;
}
