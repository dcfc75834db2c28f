/**
 * The product state record: per product, what was last sent to Meta and from which source. Stored as
 * 256 JSON shards (s3://<synced>/<syncedPrefix>state/<shard>.json, src/contract/layout.ts) or one DynamoDB
 * item per product (src/state/dynamo-items.ts); the same entry either way.
 *
 * Format 2 (today) spells every field out. Format 1, written before, used one-letter names
 * (`h t s q v e m b at open u p a`); it is read and converted, and written back as format 2 the next time
 * its shard or item changes. Nothing reads format 1 after conversion.
 */

export const STATE_FORMAT = 2;

/** Where a row stands in time: its version (if any), its file's creation time, key and sequencer. */
export interface SourceStamp {
  /** Row version (VERSION_COLUMN), or null/absent when none is configured. */
  version?: number | null;
  /** Creation time of the file (ms): S3 event time, or LastModified for a straggler. */
  sourceTime: number;
  /** File key. */
  sourceKey: string;
  /** S3 sequencer (orders versions of one key), or the ETag when the event carried none. */
  sequencer: string | null;
  /** The object version's ETag (absent in state written before it was recorded). */
  etag?: string | null;
}

export interface ProductStateEntry extends SourceStamp {
  /**
   * sha256 (hex, first 32 chars) of the canonical JSON of the item data that was sent; '' while Meta has
   * not accepted it (rejected, or fate unknown), so the same row sent again is not skipped as unchanged.
   */
  contentHash: string;
  /** Manifest key and batch index of the send, so `status --product` can find the outcome. */
  manifestKey: string;
  batchIndex: number;
  /** When it was decided and about to be sent (ms since epoch). */
  decidedAt: number;
  /**
   * True from the moment the send is decided until its batch has a final status at Meta. While it is
   * open, no other content for this product is sent: Meta documents no order between batches.
   */
  open?: boolean;
  /**
   * Until when (ms) an earlier copy of this product's data may still be applied by Meta: a batch that
   * may have been accepted without its handle being recorded. Different content waits until then.
   */
  settleUntil?: number;
  /**
   * What was last sent, for the guardrails' price and stock rules (src/guardrails/facts.ts): the price
   * string and the availability. Absent when unknown (written before, or by a resend).
   */
  lastPrice?: string;
  lastAvailability?: string;
}

export interface ProductStateShard {
  v: typeof STATE_FORMAT;
  products: Record<string, ProductStateEntry>;
  /** Highest lease fencing token that wrote sends into this shard; a lower token may not write. */
  fence?: number;
}

/** A format 1 entry, as stored before the names were spelled out. */
export interface ProductStateEntryV1 {
  h: string;
  t: number;
  s: string;
  q: string | null;
  v?: number | null;
  e?: string | null;
  m: string;
  b: number;
  at: number;
  open?: boolean;
  u?: number;
  p?: string;
  a?: string;
}

export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

/** A format 1 entry in format 2: every field kept, absent ones stay absent. */
export function entryFromV1(old: ProductStateEntryV1): ProductStateEntry {
  return {
    contentHash: old.h,
    sourceTime: old.t,
    sourceKey: old.s,
    sequencer: old.q,
    ...(old.v === undefined ? {} : { version: old.v }),
    ...(old.e === undefined ? {} : { etag: old.e }),
    manifestKey: old.m,
    batchIndex: old.b,
    decidedAt: old.at,
    ...(old.open === undefined ? {} : { open: old.open }),
    ...(old.u === undefined ? {} : { settleUntil: old.u }),
    ...(old.p === undefined ? {} : { lastPrice: old.p }),
    ...(old.a === undefined ? {} : { lastAvailability: old.a }),
  };
}

/** One stored entry of the given format, as format 2. */
export function readEntry(stored: unknown, format: number, where: string): ProductStateEntry {
  if (typeof stored !== 'object' || stored === null) throw new StateFormatError(`${where}: not an object`);
  if (format === STATE_FORMAT) return stored as ProductStateEntry;
  if (format === 1) return entryFromV1(stored as ProductStateEntryV1);
  throw new StateFormatError(`${where} has an unknown format (v=${String(format)})`);
}

/** A stored shard of either format, as format 2; throws StateFormatError on anything else. */
export function readShard(stored: unknown, where: string): ProductStateShard {
  const doc = stored as { v?: unknown; products?: unknown; fence?: unknown } | null;
  if (
    typeof doc !== 'object' ||
    doc === null ||
    (doc.v !== 1 && doc.v !== STATE_FORMAT) ||
    typeof doc.products !== 'object' ||
    doc.products === null
  ) {
    throw new StateFormatError(`${where} has an unknown format (v=${String(doc?.v)})`);
  }
  const format = doc.v;
  const products: Record<string, ProductStateEntry> = {};
  for (const [id, entry] of Object.entries(doc.products as Record<string, unknown>)) {
    products[id] = readEntry(entry, format, `${where} product ${id}`);
  }
  return {
    v: STATE_FORMAT,
    products,
    ...(typeof doc.fence === 'number' ? { fence: doc.fence } : {}),
  };
}

export function emptyShard(): ProductStateShard {
  return { v: STATE_FORMAT, products: {} };
}

const ENTRY_FIELDS: ReadonlySet<string> = new Set<keyof ProductStateEntry>([
  'version',
  'sourceTime',
  'sourceKey',
  'sequencer',
  'etag',
  'contentHash',
  'manifestKey',
  'batchIndex',
  'decidedAt',
  'open',
  'settleUntil',
  'lastPrice',
  'lastAvailability',
]);

/**
 * Refuses an entry carrying a field format 2 does not have. Entries are assembled with spreads, which the
 * type checker does not hold to the interface: a stray `u` from format 1 would be stored and the send gate
 * would never see its `settleUntil`. Failing the write is the safe side.
 */
export function assertEntryFields(id: string, entry: ProductStateEntry): void {
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) {
      throw new StateFormatError(
        `product state entry for ${id} has a field format 2 does not know: ${field}`,
      );
    }
  }
}
