/**
 * Product ids → slots, off the V8 heap. A `Map<string, number>` plus an array of the id strings cost
 * about 72 bytes a product of heap at 1M products (a string header, its characters, the Map's entry
 * and the array's pointer), and the heap is what the worker's memory cap is made of. Here the ids are
 * UTF-8 bytes in one Buffer and the table is typed arrays, about 33 bytes a product of external memory
 * for ids of 11 ASCII characters, and a lookup allocates nothing.
 *
 * The key is the id's UTF-8 form: a lone surrogate, which UTF-8 cannot hold, is the same key as U+FFFD
 * (what `Buffer.write` stores in its place), and `idAt` gives back that well-formed string. Ids decoded
 * from UTF-8 files are always well-formed, so for them the table is exactly a map of strings.
 */

const FIRST_SLOTS = 1024;
/** Linear probing stays short up to about half full; a power of two makes the probe a mask. */
const FIRST_BUCKETS = 2048;
const FIRST_ARENA_BYTES = 16 * 1024;
/** Slots a table holds before it doubles: a load factor of at most 1/2. */
const MAX_LOAD = 0.5;
/** The offsets are 32-bit. */
const MAX_ARENA_BYTES = 2 ** 32 - 1;

/**
 * FNV-1a over the UTF-16 code units (no encoding, no allocation), then murmur3's finaliser: FNV-1a's low
 * bits, the ones the mask keeps, depend only on the low bits of its state and of each code unit; the
 * finaliser spreads all 32 over them.
 */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Whether `bytes[start, end)` is the UTF-8 form of the well-formed `id`: it encodes the id a code point at
 * a time against the stored bytes instead of decoding them, so nothing is allocated.
 */
export function sameId(bytes: Buffer, start: number, end: number, id: string): boolean {
  // Every code unit takes one to three bytes (a surrogate pair four for two units).
  if (end - start < id.length || end - start > 3 * id.length) return false;
  let p = start;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x80) {
      if (bytes[p++] !== c) return false;
    } else if (c < 0x800) {
      if (bytes[p] !== (0xc0 | (c >> 6)) || bytes[p + 1] !== (0x80 | (c & 0x3f))) return false;
      p += 2;
    } else if (c >= 0xd800 && c < 0xdc00) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (id.charCodeAt(++i) - 0xdc00);
      if (
        bytes[p] !== (0xf0 | (cp >> 18)) ||
        bytes[p + 1] !== (0x80 | ((cp >> 12) & 0x3f)) ||
        bytes[p + 2] !== (0x80 | ((cp >> 6) & 0x3f)) ||
        bytes[p + 3] !== (0x80 | (cp & 0x3f))
      )
        return false;
      p += 4;
    } else {
      if (
        bytes[p] !== (0xe0 | (c >> 12)) ||
        bytes[p + 1] !== (0x80 | ((c >> 6) & 0x3f)) ||
        bytes[p + 2] !== (0x80 | (c & 0x3f))
      )
        return false;
      p += 3;
    }
  }
  // Bytes read past `end` (the next id's, or unused) cannot make a match: an id that ran on into them
  // ends after `end`.
  return p === end;
}

export class IdTable {
  /** The ids' UTF-8 bytes, one after the other in slot order. */
  #arena = Buffer.allocUnsafeSlow(FIRST_ARENA_BYTES);
  #used = 0;
  /** Where each slot's bytes end; they start where the previous slot's end (or at 0). */
  #ends = new Uint32Array(FIRST_SLOTS);
  /** Each slot's hash: a probe skips other ids without reading their bytes, and a rehash is a copy. */
  #hashes = new Int32Array(FIRST_SLOTS);
  /** Open addressing, linear probing: slot + 1 per bucket, 0 for an empty one. */
  #buckets: Int32Array;
  #size = 0;

  /** `buckets`, a power of two, is where the table starts (the tests start it small to make ids collide). */
  constructor(buckets = FIRST_BUCKETS) {
    if (!(buckets >= 2 && (buckets & (buckets - 1)) === 0))
      throw new RangeError(`${buckets}: not a power of two`);
    this.#buckets = new Int32Array(buckets);
  }

  get size(): number {
    return this.#size;
  }

  slot(id: string): number | undefined {
    const key = id.isWellFormed() ? id : id.toWellFormed();
    const bucket = this.#find(key, idHash(key));
    const s = this.#buckets[bucket]!;
    return s === 0 ? undefined : s - 1;
  }

  /** Appends an id that is not in the table; its slot is the table's size before. */
  add(id: string): number {
    const key = id.isWellFormed() ? id : id.toWellFormed();
    const hash = idHash(key);
    const bucket = this.#find(key, hash);
    if (this.#buckets[bucket] !== 0)
      throw new Error(`id ${key} is already in slot ${this.#buckets[bucket]! - 1}`);
    const slot = this.#size;
    if (slot === this.#ends.length) this.#growSlots();
    // Three bytes a UTF-16 code unit at most: room for that, and write stores the whole id.
    this.#reserve(3 * key.length);
    this.#used += this.#arena.write(key, this.#used, 'utf8');
    this.#ends[slot] = this.#used;
    this.#hashes[slot] = hash;
    this.#buckets[bucket] = slot + 1;
    this.#size = slot + 1;
    if (this.#size > this.#buckets.length * MAX_LOAD) this.#rehash(this.#buckets.length * 2);
    return slot;
  }

  /** A fresh flat string (not a view into a larger one), so keeping it keeps nothing else. */
  idAt(slot: number): string {
    if (!(slot >= 0 && slot < this.#size))
      throw new RangeError(`no slot ${slot} in an id table of ${this.#size}`);
    return this.#arena.toString('utf8', slot === 0 ? 0 : this.#ends[slot - 1], this.#ends[slot]);
  }

  /** Empties the table and gives its memory back: a cleared index is a voided file's, rarely refilled. */
  clear(): void {
    this.#arena = Buffer.allocUnsafeSlow(FIRST_ARENA_BYTES);
    this.#used = 0;
    this.#ends = new Uint32Array(FIRST_SLOTS);
    this.#hashes = new Int32Array(FIRST_SLOTS);
    this.#buckets = new Int32Array(FIRST_BUCKETS);
    this.#size = 0;
  }

  /** The bucket that holds `id`, or the empty one where it would go. */
  #find(id: string, hash: number): number {
    const buckets = this.#buckets;
    const mask = buckets.length - 1;
    for (let b = hash & mask; ; b = (b + 1) & mask) {
      const s = buckets[b]!;
      if (s === 0) return b;
      const slot = s - 1;
      if (
        this.#hashes[slot] === hash &&
        sameId(this.#arena, slot === 0 ? 0 : this.#ends[slot - 1]!, this.#ends[slot]!, id)
      )
        return b;
    }
  }

  #growSlots(): void {
    const n = this.#ends.length * 2;
    const ends = new Uint32Array(n);
    ends.set(this.#ends);
    this.#ends = ends;
    const hashes = new Int32Array(n);
    hashes.set(this.#hashes);
    this.#hashes = hashes;
  }

  #reserve(bytes: number): void {
    const need = this.#used + bytes;
    if (need <= this.#arena.length) return;
    if (need > MAX_ARENA_BYTES) throw new RangeError(`the ids of ${this.#size} products exceed 4 GiB`);
    const arena = Buffer.allocUnsafeSlow(Math.min(MAX_ARENA_BYTES, Math.max(need, this.#arena.length * 2)));
    this.#arena.copy(arena, 0, 0, this.#used);
    this.#arena = arena;
  }

  #rehash(n: number): void {
    const buckets = new Int32Array(n);
    const mask = n - 1;
    for (let slot = 0; slot < this.#size; slot++) {
      let b = this.#hashes[slot]! & mask;
      while (buckets[b] !== 0) b = (b + 1) & mask;
      buckets[b] = slot + 1;
    }
    this.#buckets = buckets;
  }
}
