import type { CatalogItem } from '../meta/types.ts';
import { compareStamps, contentHash, isKeyTie } from '../state/product-state.ts';
import type { RowCounts } from '../contract/manifest.ts';
import type { SourceStamp } from '../contract/product-state.ts';
import type { Spool, SpoolRef } from './spool.ts';

/**
 * The products of one open window: for every id where its newest row is (an index entry pointing into
 * the spool file of the landing file it came from, spool.ts), and the files they came from. The items
 * themselves stay on disk until the flush reads them back a batch at a time, so memory is bounded by
 * the window's distinct products times the size of an entry (bench/results/notes.md), not by the items.
 */

export type { RowCounts } from '../contract/manifest.ts';

export interface WindowSource {
  bucket: string;
  key: string;
  etag: string;
  versionId: string | null;
  sequencer: string | null;
  /** Event time (ms); LastModified for a straggler. */
  eventTime: number;
  size: number | null;
  fileError: string | null;
  errorReportKey: string | null;
  rows: RowCounts;
}

/**
 * One product of a window, without its item: what the send gate, the chunking, the guardrails and the
 * payload origins need, and where the item is in its file's spool. No field holds the item (a test keeps
 * it so): this is the per-product memory of a window.
 */
export interface IndexEntry extends SpoolRef {
  id: string;
  hash: string;
  /** Shared by every row of a file without a version column. */
  stamp: SourceStamp;
  line: number;
  /** Index into the window's sources; set when the file joins a window. */
  source: number;
  /** Position in the window (insertion order); set when it joins. A newer row keeps the position. */
  n: number;
  /** The two values the guardrails judge (facts.ts), when the item has them as strings. */
  price: string | null;
  availability: string | null;
}

/** One landing file, read completely, before it joins a window (a failed read leaves no trace). */
export interface FileIndex {
  source: WindowSource;
  /** Where its items are; null when it has none (a file-level problem voided it). */
  spool: Spool | null;
  entries: Map<string, IndexEntry>;
}

export function sourceStamp(
  source: Pick<WindowSource, 'eventTime' | 'key' | 'sequencer' | 'etag'>,
): SourceStamp {
  return {
    sourceTime: source.eventTime,
    sourceKey: source.key,
    sequencer: source.sequencer ?? source.etag,
    etag: source.etag,
  };
}

export function emptyCounts(): RowCounts {
  return { total: 0, valid: 0, rejected: 0, unchanged: 0, older: 0, superseded: 0 };
}

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * A copy of `s` that does not point into a larger string. V8 makes a substring of 13 characters or more
 * a view of its parent: a hash cut from its hex digest keeps all 64 characters alive, an id cut from a
 * CSV line keeps the line. An entry lives as long as its window, so it keeps flat copies.
 */
function flat(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Availability takes a handful of values: one string each, not one per product. */
const availabilities = new Map<string, string>();
function interned(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const known = availabilities.get(v);
  if (known !== undefined) return known;
  if (availabilities.size < 64) availabilities.set(v, v);
  return v;
}

/** Indexes one file's accepted rows while appending their items to its spool. */
export class FileIndexBuilder {
  readonly entries = new Map<string, IndexEntry>();
  readonly counts = emptyCounts();
  readonly #spool: Spool;
  readonly #stamp: SourceStamp;

  constructor(spool: Spool, fileStamp: SourceStamp) {
    this.#spool = spool;
    this.#stamp = fileStamp;
  }

  /**
   * A later line for the same id replaces an earlier one, unless the rows carry versions and the
   * earlier one's is higher.
   */
  accept(item: CatalogItem, line: number, version: number | null = null): void {
    this.counts.total++;
    this.counts.valid++;
    const earlier = this.entries.get(item.id);
    if (earlier) this.counts.superseded++;
    if (
      earlier &&
      version !== null &&
      (earlier.stamp.version ?? null) !== null &&
      earlier.stamp.version! > version
    )
      return;
    const ref = this.#spool.append(JSON.stringify(item));
    const id = earlier?.id ?? flat(item.id);
    this.entries.set(id, {
      id,
      hash: flat(contentHash(item)),
      stamp: version === null ? this.#stamp : { ...this.#stamp, version },
      line,
      at: ref.at,
      len: ref.len,
      source: -1,
      n: -1,
      price: stringOrNull(item.price),
      availability: interned(item.availability),
    });
  }

  reject(): void {
    this.counts.total++;
    this.counts.rejected++;
  }

  /** A file-level problem voids the file: none of its rows are sent. */
  voidRows(): void {
    this.entries.clear();
    this.counts.valid = 0;
    this.counts.superseded = 0;
  }
}

export class WindowBuffer {
  readonly window: string;
  readonly sources: WindowSource[] = [];
  /** The spool of each source (same index); null once removed or when the file had no rows. */
  readonly #spools: (Spool | null)[] = [];
  readonly candidates = new Map<string, IndexEntry>();
  /** Some file came again (a redelivery or a straggler): the flush then looks for a stale earlier manifest. */
  redelivered = false;
  /** Products whose rows from two files were ordered only by key (same second, no version): logged. */
  keyTies = 0;

  constructor(window: string) {
    this.window = window;
  }

  get size(): number {
    return this.candidates.size;
  }

  /** True when this object version (bucket, key, ETag) is already part of the window: a duplicate event. */
  hasSource(ref: { bucket: string; key: string; etag: string }): boolean {
    return this.sources.some((s) => s.bucket === ref.bucket && s.key === ref.key && s.etag === ref.etag);
  }

  /**
   * Adds a fully read file; the window owns its spool from now on. For each id the newest source wins
   * (event time, then key, then sequencer).
   */
  addFile(file: FileIndex): void {
    const index = this.sources.push(file.source) - 1;
    this.#spools.push(file.spool);
    for (const [id, entry] of file.entries) {
      const current = this.candidates.get(id);
      if (current && isKeyTie(entry.stamp, current.stamp)) this.keyTies++;
      if (current && compareStamps(entry.stamp, current.stamp) <= 0) {
        file.source.rows.superseded++;
        continue;
      }
      if (current) this.sources[current.source]!.rows.superseded++;
      entry.source = index;
      entry.n = current ? current.n : this.candidates.size;
      this.candidates.set(id, entry);
    }
  }

  /** The items of these entries, read back from their files' spools, in the same order. */
  items(entries: readonly IndexEntry[]): CatalogItem[] {
    const bySource = new Map<number, number[]>();
    entries.forEach((e, i) => {
      const at = bySource.get(e.source);
      if (at) at.push(i);
      else bySource.set(e.source, [i]);
    });
    const out = new Array<CatalogItem>(entries.length);
    for (const [source, at] of bySource) {
      const spool = this.#spools[source];
      if (!spool)
        throw new Error(`window ${this.window}: the items of ${this.sources[source]!.key} are gone`);
      const items = spool.read(at.map((i) => entries[i]!));
      at.forEach((i, k) => (out[i] = items[k]!));
    }
    return out;
  }

  /** Removes the window's spool files: its flush is done with them (or it was dropped). */
  dispose(): void {
    for (const [i, spool] of this.#spools.entries()) {
      spool?.remove();
      this.#spools[i] = null;
    }
  }
}
