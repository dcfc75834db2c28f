import type { SourceStamp } from '../contract/product-state.ts';
import { IdTable } from './id-table.ts';
import { EntryView, type IndexEntry, type SlotReader } from './index-entry.ts';
import { Codebook, NO_VALUE, OTHER, packPrice, unpackPrice } from './index-codes.ts';

export type { IndexEntry } from './index-entry.ts';

/**
 * The products of a landing file or of a window, in columns: an id → slot table (id-table.ts), and per
 * slot the content hash as 16 raw bytes, the line, the source, the spool offset and length, the row's
 * version and the guardrail values (price string, availability as a small code). About 83 bytes a product
 * at 1M, all in typed arrays and Buffers, none on the V8 heap; a Map of the ids took 72 more of heap, an
 * object per product ~270 (bench/results/notes.md). Slots are in insertion order; a newer row of an id
 * takes over its slot, so a slot is also the product's position in the window.
 */

/** What one row puts in the index. */
export interface IndexRow {
  id: string;
  /** The content hash (contentHash: 32 hex digits). */
  hash: string;
  line: number;
  at: number;
  len: number;
  version: number | null;
  price: string | null;
  availability: string | null;
}

const HASH_BYTES = 16;
const HEX_HASH = /^[0-9a-f]{32}$/;
const FIRST_CAPACITY = 1024;

/**
 * A copy of `s` that does not point into a larger string. V8 makes a substring of 13 characters or more
 * a view of its parent: a price or an availability cut from a CSV line keeps the line. The index lives as
 * long as its window, so it keeps flat copies of the few it holds as strings (the ids are in its IdTable).
 */
function flat(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Availability and currency take a handful of values each: a byte a product. */
const availabilities = new Codebook();
const currencies = new Codebook();

function grown<T extends Float64Array | Int32Array | Uint8Array | Int8Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

export class ProductIndex implements Iterable<[string, IndexEntry]>, SlotReader {
  /** Id → slot and slot → id, in Buffers and typed arrays rather than strings on the heap. */
  readonly #ids = new IdTable();
  /** Prices and availabilities that have no packed form or no code (OTHER), by slot. */
  readonly #otherPrice = new Map<number, string>();
  readonly #otherAvailability = new Map<number, string>();
  #hashes = new Uint8Array(FIRST_CAPACITY * HASH_BYTES);
  /** The same memory as a Buffer, for its hex codec. */
  #hashBuffer = Buffer.from(this.#hashes.buffer);
  #lines = new Int32Array(FIRST_CAPACITY);
  #sources = new Int32Array(FIRST_CAPACITY);
  #lens = new Int32Array(FIRST_CAPACITY);
  #ats = new Float64Array(FIRST_CAPACITY);
  /** NaN: the row had no version. Null while no row had one (most files have no version column). */
  #versions: Float64Array | null = null;
  #availabilities = new Uint8Array(FIRST_CAPACITY);
  /** A price "80.19 USD" as 8019, 2 and the currency's code (NO_VALUE: no price). */
  #priceDigits = new Float64Array(FIRST_CAPACITY);
  #priceDecimals = new Int8Array(FIRST_CAPACITY);
  #currencies = new Uint8Array(FIRST_CAPACITY);
  /** The stamp of each source (a slot's source indexes it); shared with the owner, which appends to it. */
  #stamps: readonly SourceStamp[];

  constructor(stamps: readonly SourceStamp[]) {
    this.#stamps = stamps;
  }

  get size(): number {
    return this.#ids.size;
  }

  slot(id: string): number | undefined {
    return this.#ids.slot(id);
  }

  get(id: string): IndexEntry | undefined {
    const slot = this.#ids.slot(id);
    return slot === undefined ? undefined : this.entry(slot);
  }

  entry(slot: number): IndexEntry {
    if (slot < 0 || slot >= this.size) throw new RangeError(`no slot ${slot} in an index of ${this.size}`);
    return new EntryView(this, slot);
  }

  /** Views of the slots [from, to), in window order. */
  entries(from = 0, to = this.size): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (let s = from; s < Math.min(to, this.size); s++) out.push(new EntryView(this, s));
    return out;
  }

  *values(): IterableIterator<IndexEntry> {
    for (let s = 0; s < this.size; s++) yield new EntryView(this, s);
  }

  *[Symbol.iterator](): IterableIterator<[string, IndexEntry]> {
    for (let s = 0; s < this.size; s++) yield [this.#ids.idAt(s), new EntryView(this, s)];
  }

  /** Puts a row in the id's slot (a new slot at the end for a new id); returns the slot. */
  put(row: IndexRow, source: number): number {
    if (!HEX_HASH.test(row.hash)) throw new Error(`index of ${row.id}: not a content hash: ${row.hash}`);
    let slot = this.#ids.slot(row.id);
    if (slot === undefined) {
      this.#ensure(this.size + 1);
      slot = this.#ids.add(row.id);
    }
    this.#hashBuffer.write(row.hash, slot * HASH_BYTES, HASH_BYTES, 'hex');
    this.#lines[slot] = row.line;
    this.#sources[slot] = source;
    this.#ats[slot] = row.at;
    this.#lens[slot] = row.len;
    if (row.version !== null || this.#versions) this.#versionColumn()[slot] = row.version ?? NaN;
    this.#putPrice(slot, row.price);
    const code = availabilities.code(row.availability);
    this.#availabilities[slot] = code;
    if (code === OTHER) this.#otherAvailability.set(slot, flat(row.availability!));
    else this.#otherAvailability.delete(slot);
    return slot;
  }

  /** The row in `slot`, for copying it into another index. */
  row(slot: number): IndexRow {
    return {
      id: this.#ids.idAt(slot),
      hash: this.hashAt(slot),
      line: this.#lines[slot]!,
      at: this.#ats[slot]!,
      len: this.#lens[slot]!,
      version: this.versionAt(slot),
      price: this.priceAt(slot),
      availability: this.availabilityAt(slot),
    };
  }

  /**
   * This index as another owner's: its slots now point to source `source` of `stamps` (a window taking
   * a file's index whole when it has no products yet, instead of copying it).
   */
  rebase(stamps: readonly SourceStamp[], source: number): this {
    this.#stamps = stamps;
    this.#sources.fill(source, 0, this.size);
    return this;
  }

  clear(): void {
    this.#ids.clear();
    this.#otherPrice.clear();
    this.#otherAvailability.clear();
  }

  idAt(slot: number): string {
    return this.#ids.idAt(slot);
  }

  hashAt(slot: number): string {
    return this.#hashBuffer.toString('hex', slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
  }

  versionAt(slot: number): number | null {
    const v = this.#versions?.[slot] ?? NaN;
    return Number.isNaN(v) ? null : v;
  }

  /** The file's stamp, shared; with the row's version in a stamp of its own. */
  stampAt(slot: number): SourceStamp {
    const stamp = this.#stamps[this.#sources[slot]!]!;
    const version = this.versionAt(slot);
    return version === null ? stamp : { ...stamp, version };
  }

  lineAt(slot: number): number {
    return this.#lines[slot]!;
  }

  sourceAt(slot: number): number {
    return this.#sources[slot]!;
  }

  atAt(slot: number): number {
    return this.#ats[slot]!;
  }

  lenAt(slot: number): number {
    return this.#lens[slot]!;
  }

  priceAt(slot: number): string | null {
    const code = this.#currencies[slot]!;
    if (code === OTHER) return this.#otherPrice.get(slot)!;
    const currency = currencies.name(code);
    if (currency === null) return null;
    return unpackPrice({ digits: this.#priceDigits[slot]!, decimals: this.#priceDecimals[slot]!, currency });
  }

  availabilityAt(slot: number): string | null {
    const code = this.#availabilities[slot]!;
    return code === OTHER ? this.#otherAvailability.get(slot)! : availabilities.name(code);
  }

  #ensure(length: number): void {
    const capacity = this.#lines.length;
    if (length <= capacity) return;
    const next = Math.max(length, capacity * 2);
    this.#hashes = grown(this.#hashes, next * HASH_BYTES);
    this.#hashBuffer = Buffer.from(this.#hashes.buffer);
    this.#lines = grown(this.#lines, next);
    this.#sources = grown(this.#sources, next);
    this.#ats = grown(this.#ats, next);
    this.#lens = grown(this.#lens, next);
    if (this.#versions) this.#versions = grown(this.#versions, next);
    this.#availabilities = grown(this.#availabilities, next);
    this.#priceDigits = grown(this.#priceDigits, next);
    this.#priceDecimals = grown(this.#priceDecimals, next);
    this.#currencies = grown(this.#currencies, next);
  }

  #putPrice(slot: number, price: string | null): void {
    const packed = price === null ? null : packPrice(price);
    const code = packed ? currencies.code(packed.currency) : price === null ? NO_VALUE : OTHER;
    this.#currencies[slot] = code;
    if (code === OTHER) {
      this.#otherPrice.set(slot, flat(price!));
      return;
    }
    this.#otherPrice.delete(slot);
    this.#priceDigits[slot] = packed?.digits ?? 0;
    this.#priceDecimals[slot] = packed?.decimals ?? 0;
  }

  #versionColumn(): Float64Array {
    this.#versions ??= new Float64Array(this.#lines.length).fill(NaN);
    return this.#versions;
  }
}
