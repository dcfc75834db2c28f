import type { CatalogItem } from '../meta/types.ts';
import { contentHash } from '../state/product-state.ts';
import type { SourceStamp } from '../contract/product-state.ts';
import { emptyCounts } from '../worker/window-buffer.ts';

/**
 * `plan`'s per-file collector: the last line per id wins (the worker's rule, window-buffer.ts), with the
 * items kept in memory, because the plan compares each one with what was sent last. The worker indexes
 * the same rows without their items (FileIndexBuilder).
 */

/** One accepted row: the item, where it starts, and its version column value when configured. */
export interface FileRow {
  item: CatalogItem;
  line: number;
  version?: number | null;
}

/** A product of the planned file, as the worker's window would hold it. */
export interface PlanCandidate {
  item: CatalogItem;
  hash: string;
  stamp: SourceStamp;
  line: number;
}

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

  /** The candidates the file's rows make, stamped with the file's stamp (and each row's version). */
  candidates(fileStamp: SourceStamp): Map<string, PlanCandidate> {
    const out = new Map<string, PlanCandidate>();
    for (const [id, row] of this.rows) {
      const stamp =
        row.version === undefined || row.version === null
          ? fileStamp
          : { ...fileStamp, version: row.version };
      out.set(id, { item: row.item, hash: contentHash(row.item), stamp, line: row.line });
    }
    return out;
  }
}
