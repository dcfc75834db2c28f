import { cleanEtag } from '../contract/layout.ts';
import type { FileReport, ReportSource, ReportedRow, RowsReport } from '../contract/reports.ts';
import type { FileProblem } from './types.ts';

/**
 * Builds the row reports (src/contract/reports.ts) the worker writes for what it could not use from a
 * landing file, one per file version (key: rowReportKey in src/contract/layout.ts). kind "rows" lists
 * rejected rows; kind "file" says why the whole file was refused. Pure: the caller supplies the time and
 * writes the JSON.
 */

export interface RowsReportInput {
  source: ReportSource;
  createdAt: Date;
  /** Records read from the file (accepted + rejected). */
  total: number;
  /** Rejections in file order. */
  rejected: readonly ReportedRow[];
  /** Rejections beyond `rejected` that were counted only. */
  omitted?: number;
}

export function buildRowsReport(input: RowsReportInput): RowsReport {
  const omitted = input.omitted ?? 0;
  return {
    schemaVersion: 1,
    kind: 'rows',
    source: cleanSource(input.source),
    createdAt: input.createdAt.toISOString(),
    counts: { total: input.total, rejected: input.rejected.length + omitted },
    rejected: input.rejected.map(({ line, id, reason }) => ({ line, id, reason })),
    ...(omitted > 0 ? { omitted } : {}),
  };
}

export interface FileReportInput {
  source: ReportSource;
  createdAt: Date;
  problem: FileProblem;
  message: string;
  line?: number;
}

/** A refused file: nothing of it was used, so counts are zero whatever was read before the problem. */
export function buildFileReport(input: FileReportInput): FileReport {
  return {
    schemaVersion: 1,
    kind: 'file',
    source: cleanSource(input.source),
    createdAt: input.createdAt.toISOString(),
    problem: input.problem,
    message: input.message,
    ...(input.line === undefined ? {} : { line: input.line }),
    counts: { total: 0, rejected: 0 },
    rejected: [],
  };
}

function cleanSource(source: ReportSource): ReportSource {
  return { bucket: source.bucket, key: source.key, etag: cleanEtag(source.etag) };
}
