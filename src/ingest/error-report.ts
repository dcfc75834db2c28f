import type { FileProblem } from './types.ts';

/**
 * The reports the worker writes to the synced bucket for what it could not use from a landing file, one per
 * file: `errors/rows/<YYYY-MM-DDTHH>/<landing key, / → __>.<etag>.json`. kind "rows" lists rejected rows;
 * kind "file" says why the whole file was refused. Pure: the caller supplies the time and writes the JSON.
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

interface ReportBase {
  schemaVersion: 1;
  source: ReportSource;
  createdAt: string;
  counts: { total: number; rejected: number };
  rejected: ReportedRow[];
  /** Rejections counted but not listed, when the caller capped the list to bound memory. */
  omitted?: number;
}

export interface RowsReport extends ReportBase {
  kind: 'rows';
}

export interface FileReport extends ReportBase {
  kind: 'file';
  problem: FileProblem;
  message: string;
  /** Line the problem was found on, when known. */
  line?: number;
}

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

export interface ReportKeyInput {
  /** e.g. "errors/" (config ERRORS_PREFIX, with its trailing slash). */
  errorsPrefix: string;
  landingKey: string;
  etag: string;
  /** Picks the hour folder (UTC). */
  createdAt: Date;
}

/**
 * One key per file version and hour: a redelivery reported in the same hour overwrites its own report
 * instead of adding a second one.
 */
export function errorReportKey(input: ReportKeyInput): string {
  const prefix =
    input.errorsPrefix === '' || input.errorsPrefix.endsWith('/')
      ? input.errorsPrefix
      : `${input.errorsPrefix}/`;
  const hour = input.createdAt.toISOString().slice(0, 13);
  return `${prefix}rows/${hour}/${input.landingKey.replaceAll('/', '__')}.${cleanEtag(input.etag)}.json`;
}

export function cleanEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function cleanSource(source: ReportSource): ReportSource {
  return { bucket: source.bucket, key: source.key, etag: cleanEtag(source.etag) };
}
