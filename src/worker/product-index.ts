import type { SourceStamp } from '../contract/product-state.ts';
import type { SpoolRef } from './spool.ts';

/**
 * The products of a landing file or of a window, in columns: an id → slot map, and per slot the content
 * hash as 16 raw bytes, the line, the source, the spool offset and length, the row's version and the
 * guardrail values (price string, availability as a small code). About 100 bytes a product where an
 * object per product took ~270 (bench/results/notes.md). Slots are in insertion order; a newer row of an
 * id takes over its slot, so a slot is also the product's position in the window.
 */

/**
 * One product of a window, without its item: what the send gate, the chunking, the guardrails and the
 * payload origins need, and where the item is in its file's spool. ProductIndex hands out views that
 * read their slot's columns; nothing in an entry holds the item.
 */
export interface IndexEntry extends SpoolRef {
  readonly id: string;
  readonly hash: string;
  /** Shared by every row of a file without a version column. */
  readonly stamp: SourceStamp;
  readonly line: number;
  /** Index into the window's sources. */
  readonly source: number;
  /** Position in the window (insertion order). A newer row keeps the position. */
  readonly n: number;
  /** The two values the guardrails judge (facts.ts), when the item has them as strings. */
  readonly price: string | null;
  readonly availability: string | null;
}

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
 * a view of its parent: an id cut from a CSV line keeps the line. The index lives as long as its window,
 * so it keeps flat copies.
 */
function flat(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Availability takes a handful of values: a byte each (0 = none), the rare others kept aside. */
const availabilityCodes = new Map<string, number>();
const availabilityNames: string[] = [''];
const OTHER_AVAILABILITY = 255;

function availabilityCode(v: string | null): number {
  if (v === null) return 0;
  const known = availabilityCodes.get(v);
  if (known !== undefined) return known;
  if (availabilityNames.length >= OTHER_AVAILABILITY) return OTHER_AVAILABILITY;
  availabilityCodes.set(v, availabilityNames.length);
  availabilityNames.push(v);
  return availabilityNames.length - 1;
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

export class ProductIndex implements Iterable<[string, IndexEntry]> {
  readonly #slotOf = new Map<string, number>();
  readonly #ids: string[] = [];
  readonly #prices: (string | null)[] = [];
  /** Availabilities without a code (more than 254 distinct values), by slot. */
  readonly #otherAvailability = new Map<number, string>();
  #hashes = new Uint8Array(FIRST_CAPACITY * HASH_BYTES);
  /** The same memory as a Buffer, for its hex codec. */
  #hashBuffer = Buffer.from(this.#hashes.buffer);
  #lines = new Int32Array(FIRST_CAPACITY);
  #sources = new Int32Array(FIRST_CAPACITY);
  #lens = new Int32Array(FIRST_CAPACITY);
  #ats = new Float64Array(FIRST_CAPACITY);
  /** NaN: the row had no version. */
  #versions = new Float64Array(FIRST_CAPACITY);
  #availabilities = new Uint8Array(FIRST_CAPACITY);
  /** The stamp of each source (a slot's source indexes it); shared with the owner, which appends to it. */
  #stamps: readonly SourceStamp[];

  constructor(stamps: readonly SourceStamp[]) {
    this.#stamps = stamps;
  }

  get size(): number {
    return this.#ids.length;
  }

  slot(id: string): number | undefined {
    return this.#slotOf.get(id);
  }

  get(id: string): IndexEntry | undefined {
    const slot = this.#slotOf.get(id);
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
    for (let s = 0; s < this.size; s++) yield [this.#ids[s]!, new EntryView(this, s)];
  }

  /** Puts a row in the id's slot (a new slot at the end for a new id); returns the slot. */
  put(row: IndexRow, source: number): number {
    if (!HEX_HASH.test(row.hash)) throw new Error(`index of ${row.id}: not a content hash: ${row.hash}`);
    let slot = this.#slotOf.get(row.id);
    if (slot === undefined) {
      slot = this.size;
      this.#ensure(slot + 1);
      const id = flat(row.id);
      this.#slotOf.set(id, slot);
      this.#ids.push(id);
      this.#prices.push(null);
    }
    this.#hashBuffer.write(row.hash, slot * HASH_BYTES, HASH_BYTES, 'hex');
    this.#lines[slot] = row.line;
    this.#sources[slot] = source;
    this.#ats[slot] = row.at;
    this.#lens[slot] = row.len;
    this.#versions[slot] = row.version ?? NaN;
    this.#prices[slot] = row.price === null ? null : flat(row.price);
    const code = availabilityCode(row.availability);
    this.#availabilities[slot] = code;
    if (code === OTHER_AVAILABILITY) this.#otherAvailability.set(slot, flat(row.availability!));
    else this.#otherAvailability.delete(slot);
    return slot;
  }

  /** The row in `slot`, for copying it into another index. */
  row(slot: number): IndexRow {
    return {
      id: this.#ids[slot]!,
      hash: this.hashAt(slot),
      line: this.#lines[slot]!,
      at: this.#ats[slot]!,
      len: this.#lens[slot]!,
      version: this.versionAt(slot),
      price: this.#prices[slot]!,
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
    this.#slotOf.clear();
    this.#ids.length = 0;
    this.#prices.length = 0;
    this.#otherAvailability.clear();
  }

  idAt(slot: number): string {
    return this.#ids[slot]!;
  }

  hashAt(slot: number): string {
    return this.#hashBuffer.toString('hex', slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
  }

  versionAt(slot: number): number | null {
    const v = this.#versions[slot]!;
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
    return this.#prices[slot]!;
  }

  availabilityAt(slot: number): string | null {
    const code = this.#availabilities[slot]!;
    if (code === OTHER_AVAILABILITY) return this.#otherAvailability.get(slot)!;
    return code === 0 ? null : availabilityNames[code]!;
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
    this.#versions = grown(this.#versions, next);
    this.#availabilities = grown(this.#availabilities, next);
  }
}

/** One slot of an index, read from its columns when asked (a pointer and a number in memory). */
class EntryView implements IndexEntry {
  readonly #index: ProductIndex;
  readonly n: number;

  constructor(index: ProductIndex, slot: number) {
    this.#index = index;
    this.n = slot;
  }

  get id(): string {
    return this.#index.idAt(this.n);
  }
  get hash(): string {
    return this.#index.hashAt(this.n);
  }
  get stamp(): SourceStamp {
    return this.#index.stampAt(this.n);
  }
  get line(): number {
    return this.#index.lineAt(this.n);
  }
  get source(): number {
    return this.#index.sourceAt(this.n);
  }
  get at(): number {
    return this.#index.atAt(this.n);
  }
  get len(): number {
    return this.#index.lenAt(this.n);
  }
  get price(): string | null {
    return this.#index.priceAt(this.n);
  }
  get availability(): string | null {
    return this.#index.availabilityAt(this.n);
  }

  toJSON(): Omit<IndexEntry, never> {
    const { id, hash, stamp, line, source, n, at, len, price, availability } = this;
    return { id, hash, stamp, line, source, n, at, len, price, availability };
  }
}
