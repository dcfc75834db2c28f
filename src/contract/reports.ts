import type { FileProblem } from '../ingest/types.ts';

/**
 * The reports in the errors prefix of the synced bucket (keys: src/contract/layout.ts):
 * - a row report per landing file version with rejected rows (`kind: 'rows'`) or refused whole
 *   (`kind: 'file'`), built by src/ingest/error-report.ts;
 * - a Meta report per manifest with the items Meta rejected (`kind: 'meta'`);
 * - an unknown-fate report per manifest with the items still of unknown fate after the automatic resends
 *   (`kind: 'unknown'`).
 * The worker writes them; `status` reads them through src/ops/records.ts.
 */

export interface ReportSource {
  bucket: string;
  key: string;
  /** As S3 returns it; surrounding quotes are removed. */
  etag: string;
}

export interface ReportedRow {
  line: number;
  id: string | null;
  reason: string;
}

interface RowReportBase {
  schemaVersion: 1;
  source: ReportSource;
  createdAt: string;
  counts: { total: number; rejected: number };
  rejected: ReportedRow[];
  /** Rejections counted but not listed, when the caller capped the list to bound memory. */
  omitted?: number;
}

export interface RowsReport extends RowReportBase {
  kind: 'rows';
}

export interface FileReport extends RowReportBase {
  kind: 'file';
  problem: FileProblem;
  message: string;
  /** Line the problem was found on, when known. */
  line?: number;
}

/** Either kind of row report: what one landing file version could not deliver. */
export type RowReport = RowsReport | FileReport;

/**
 * An item Meta rejected. `key` and `line` name the file and line it came from, null when the batch payload
 * that would say was not readable (the rejection is still reported).
 */
export interface MetaRejection {
  id: string;
  reason: string;
  batchIndex: number;
  key: string | null;
  line: number | null;
}

export interface MetaReport {
  schemaVersion: 1;
  kind: 'meta';
  manifestId: string;
  createdAt: string;
  rejected: MetaRejection[];
}

/** An item whose fate at Meta is still unknown after the automatic resends. */
export interface UnknownItem {
  id: string;
  key: string;
  line: number;
  batchIndex: number;
  why: string;
}

export interface UnknownReport {
  schemaVersion: 1;
  kind: 'unknown';
  manifestId: string;
  createdAt: string;
  items: UnknownItem[];
}
