import type { CatalogItem } from '../meta/types.ts';
import { compareStamps, contentHash, isKeyTie } from '../state/product-state.ts';
import type { RowCounts } from '../contract/manifest.ts';
import type { SourceStamp } from '../contract/product-state.ts';
import type { Spool } from './spool.ts';
import { ProductIndex, type IndexEntry } from './product-index.ts';

/**
 * The products of one open window: for every id where its newest row is (a slot of a columnar index,
 * product-index.ts, pointing into the spool file of the landing file it came from, spool.ts), and the
 * files they came from. The items stay on disk until the flush reads them back a batch at a time, so
 * memory is bounded by the window's distinct products times ~83 B (bench/results/notes.md), not by
 * the items.
 */

export type { RowCounts } from '../contract/manifest.ts';
export type { IndexEntry } from './product-index.ts';

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

/** One landing file, read completely, before it joins a window (a failed read leaves no trace). */
export interface FileIndex {
  source: WindowSource;
  /** Where its items are; null when it has none (a file-level problem voided it). */
  spool: Spool | null;
  /** Its products; the window takes this index over when it is the window's first file with any. */
  entries: ProductIndex;
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

/** Indexes one file's accepted rows while appending their items to its spool. */
export class FileIndexBuilder {
  readonly entries: ProductIndex;
  readonly counts = emptyCounts();
  readonly stamp: SourceStamp;
  readonly #spool: Spool;

  constructor(spool: Spool, fileStamp: SourceStamp) {
    this.#spool = spool;
    this.stamp = fileStamp;
    this.entries = new ProductIndex([fileStamp]);
  }

  /**
   * A later line for the same id replaces an earlier one, unless the rows carry versions and the
   * earlier one's is higher.
   */
  accept(item: CatalogItem, line: number, version: number | null = null): void {
    this.counts.total++;
    this.counts.valid++;
    const earlier = this.entries.slot(item.id);
    if (earlier !== undefined) this.counts.superseded++;
    const earlierVersion = earlier === undefined ? null : this.entries.versionAt(earlier);
    if (version !== null && earlierVersion !== null && earlierVersion > version) return;
    const ref = this.#spool.append(JSON.stringify(item));
    this.entries.put(
      {
        id: item.id,
        hash: contentHash(item),
        line,
        at: ref.at,
        len: ref.len,
        version,
        price: stringOrNull(item.price),
        availability: stringOrNull(item.availability),
      },
      0,
    );
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
  /** The stamp of each source (same index), which the index's slots point to. */
  readonly #stamps: SourceStamp[] = [];
  #candidates = new ProductIndex(this.#stamps);
  /** Some file came again (a redelivery or a straggler): the flush then looks for a stale earlier manifest. */
  redelivered = false;
  /** Products whose rows from two files were ordered only by key (same second, no version): logged. */
  keyTies = 0;

  constructor(window: string) {
    this.window = window;
  }

  /** The newest row of each product, in window order (a slot is a product's position). */
  get candidates(): ProductIndex {
    return this.#candidates;
  }

  get size(): number {
    return this.#candidates.size;
  }

  /** True when this object version (bucket, key, ETag) is already part of the window: a duplicate event. */
  hasSource(ref: { bucket: string; key: string; etag: string }): boolean {
    return this.sources.some((s) => s.bucket === ref.bucket && s.key === ref.key && s.etag === ref.etag);
  }

  /**
   * Adds a fully read file; the window owns its spool and its index from now on. For each id the newest
   * source wins (event time, then key, then sequencer).
   */
  addFile(file: FileIndex): void {
    const index = this.sources.push(file.source) - 1;
    this.#spools.push(file.spool);
    this.#stamps.push(sourceStamp(file.source));
    const candidates = this.#candidates;
    if (candidates.size === 0) {
      // The first file with products: its index is the window's as it is (its order is insertion order).
      this.#candidates = file.entries.rebase(this.#stamps, index);
      return;
    }
    const incoming = file.entries;
    for (let slot = 0; slot < incoming.size; slot++) {
      const current = candidates.slot(incoming.idAt(slot));
      if (current !== undefined) {
        const stamp = incoming.stampAt(slot);
        const currentStamp = candidates.stampAt(current);
        if (isKeyTie(stamp, currentStamp)) this.keyTies++;
        if (compareStamps(stamp, currentStamp) <= 0) {
          file.source.rows.superseded++;
          continue;
        }
        this.sources[candidates.sourceAt(current)]!.rows.superseded++;
      }
      candidates.put(incoming.row(slot), index);
    }
  }

  /** The items of these entries, read back from their files' spools, in the same order. */
  items(entries: readonly IndexEntry[]): CatalogItem[] {
    return this.itemJsons(entries).map((json) => JSON.parse(json) as CatalogItem);
  }

  /** The items' JSON exactly as spooled (what `JSON.stringify` gave at intake), in the same order. */
  itemJsons(entries: readonly IndexEntry[]): string[] {
    const bySource = new Map<number, number[]>();
    entries.forEach((e, i) => {
      const at = bySource.get(e.source);
      if (at) at.push(i);
      else bySource.set(e.source, [i]);
    });
    const out = new Array<string>(entries.length);
    for (const [source, at] of bySource) {
      const spool = this.#spools[source];
      if (!spool)
        throw new Error(`window ${this.window}: the items of ${this.sources[source]!.key} are gone`);
      const jsons = spool.readJson(at.map((i) => entries[i]!));
      at.forEach((i, k) => (out[i] = jsons[k]!));
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
