import type { SourceStamp } from '../contract/product-state.ts';
import type { RowCounts } from '../contract/manifest.ts';
import type { CatalogItem } from '../meta/types.ts';
import { compareStamps, contentHash, isKeyTie } from '../state/product-state.ts';

/**
 * The products of one open window: for every id the newest row seen so far, and the files they came
 * from. Memory is bounded by the window's distinct products, not by the size of the files.
 */

export type { RowCounts };

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

export interface Candidate {
  item: CatalogItem;
  hash: string;
  stamp: SourceStamp;
  /** Index into the window's sources. */
  source: number;
  line: number;
}

/** One accepted row: the item to send, where it starts, and its version column value when configured. */
export interface FileRow {
  item: CatalogItem;
  line: number;
  version?: number | null;
}

/** The rows of one file, read completely, before they join a window (a failed read leaves no trace). */
export interface FileRows {
  source: WindowSource;
  rows: Map<string, FileRow>;
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

/** Collects one file's accepted rows; a later line for the same id replaces an earlier one. */
export class FileRowCollector {
  readonly rows = new Map<string, FileRow>();
  readonly counts = emptyCounts();

  /**
   * A later line for the same id replaces an earlier one, unless the rows carry versions and the
   * earlier one's is higher.
   */
  accept(item: CatalogItem, line: number, version: number | null = null): void {
    this.counts.total++;
    this.counts.valid++;
    const earlier = this.rows.get(item.id);
    if (earlier) this.counts.superseded++;
    if (earlier && version !== null && (earlier.version ?? null) !== null && earlier.version! > version)
      return;
    this.rows.set(item.id, version === null ? { item, line } : { item, line, version });
  }

  reject(): void {
    this.counts.total++;
    this.counts.rejected++;
  }
}

export class WindowBuffer {
  readonly window: string;
  readonly sources: WindowSource[] = [];
  readonly candidates = new Map<string, Candidate>();
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

  /** Adds a fully read file. For each id the newest source wins (event time, then key, then sequencer). */
  addFile(file: FileRows): void {
    const index = this.sources.push(file.source) - 1;
    const fileStamp = sourceStamp(file.source);
    for (const [id, row] of file.rows) {
      const stamp =
        row.version === undefined || row.version === null
          ? fileStamp
          : { ...fileStamp, version: row.version };
      const current = this.candidates.get(id);
      if (current && isKeyTie(stamp, current.stamp)) this.keyTies++;
      if (current && compareStamps(stamp, current.stamp) <= 0) {
        file.source.rows.superseded++;
        continue;
      }
      if (current) this.sources[current.source]!.rows.superseded++;
      this.candidates.set(id, {
        item: row.item,
        hash: contentHash(row.item),
        stamp,
        source: index,
        line: row.line,
      });
    }
  }
}
