/**
 * The documents `status` reads, as the worker writes them (schemas/manifest.schema.json and the report
 * formats in the storage layout). Parsed leniently: a status tool shows what it can, and names the
 * document it could not read instead of failing the whole report.
 */

export type ManifestState =
  'pending' | 'submitted' | 'finished' | 'archived' | 'abandoned' | 'held' | 'discarded';
export type BatchStatus = 'unsent' | 'running' | 'finished' | 'error';

export interface ManifestSource {
  bucket: string;
  key: string;
  etag: string;
  eventTime: string;
  fileError?: string | null;
  errorReportKey?: string | null;
  rows: {
    total: number;
    valid: number;
    rejected: number;
    unchanged: number;
    older: number;
    superseded: number;
  };
}

export interface ManifestBatch {
  index: number;
  itemCount: number;
  payloadKey: string;
  handle?: string | null;
  status: BatchStatus;
  attempts?: number;
  submittedAt?: string | null;
  finishedAt?: string | null;
  errorsTotal?: number | null;
  warningsTotal?: number | null;
  rejected?: { id: string; reason: string }[];
}

export interface Manifest {
  schemaVersion: 1;
  manifestId: string;
  window: string;
  state: ManifestState;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string | null;
  finishedAt?: string | null;
  archivedAt?: string | null;
  catalogId: string;
  sources: ManifestSource[];
  batches: ManifestBatch[];
  counts: {
    items: number;
    accepted: number;
    rejected: number;
    unknown: number;
    rowsRejected?: number;
    calls?: number;
  };
  errorReportKeys?: string[];
  waiting?: { reason: string; since: string; until: string } | null;
}

export interface RowsReport {
  schemaVersion: 1;
  kind: 'rows' | 'file';
  source: { bucket: string; key: string; etag: string };
  createdAt: string;
  problem?: string;
  message?: string;
  counts: { total: number; rejected: number };
  rejected: { line: number; id: string | null; reason: string }[];
}

export interface MetaReport {
  schemaVersion: 1;
  kind: 'meta';
  manifestId: string;
  createdAt: string;
  rejected: { id: string; reason: string; batchIndex: number; key: string; line: number }[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function missing(v: Record<string, unknown>, fields: string[]): string[] {
  return fields.filter((f) => v[f] === undefined);
}

export function parseManifest(value: unknown): Parsed<Manifest> {
  if (!isRecord(value)) return { ok: false, error: 'not a JSON object' };
  if (value.schemaVersion !== 1)
    return { ok: false, error: `unknown schemaVersion ${JSON.stringify(value.schemaVersion)}` };
  const gaps = missing(value, ['manifestId', 'window', 'state', 'sources', 'batches', 'counts']);
  if (gaps.length > 0) return { ok: false, error: `missing ${gaps.join(', ')}` };
  if (!Array.isArray(value.sources) || !Array.isArray(value.batches) || !isRecord(value.counts))
    return { ok: false, error: 'sources, batches or counts has the wrong type' };
  return { ok: true, value: value as unknown as Manifest };
}

export function parseRowsReport(value: unknown): Parsed<RowsReport> {
  if (!isRecord(value) || (value.kind !== 'rows' && value.kind !== 'file'))
    return { ok: false, error: 'not a rows/file report' };
  if (!isRecord(value.source)) return { ok: false, error: 'missing source' };
  return {
    ok: true,
    value: {
      ...value,
      rejected: Array.isArray(value.rejected) ? value.rejected : [],
    } as unknown as RowsReport,
  };
}

export function parseMetaReport(value: unknown): Parsed<MetaReport> {
  if (!isRecord(value) || value.kind !== 'meta' || typeof value.manifestId !== 'string')
    return { ok: false, error: 'not a meta report' };
  return {
    ok: true,
    value: {
      ...value,
      rejected: Array.isArray(value.rejected) ? value.rejected : [],
    } as unknown as MetaReport,
  };
}
