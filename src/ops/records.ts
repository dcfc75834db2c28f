import type { Manifest } from '../contract/manifest.ts';
import type { MetaRejection, MetaReport, RowReport } from '../contract/reports.ts';

/**
 * Lenient readers of the documents `status` shows, typed by the contract (src/contract/): a status tool
 * shows what it can, and names the document it could not read instead of failing the whole report. Each
 * reader checks what its callers rely on and fills what older writers left out.
 */

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
  // Shape checked above; the rest is shown as found (the worker validates what it writes).
  const manifest = value as unknown as Manifest;
  return { ok: true, value: { ...manifest, errorReportKeys: manifest.errorReportKeys ?? [] } };
}

export function parseRowsReport(value: unknown): Parsed<RowReport> {
  if (!isRecord(value) || (value.kind !== 'rows' && value.kind !== 'file'))
    return { ok: false, error: 'not a rows/file report' };
  if (!isRecord(value.source)) return { ok: false, error: 'missing source' };
  return {
    ok: true,
    value: {
      ...value,
      rejected: Array.isArray(value.rejected) ? value.rejected : [],
    } as unknown as RowReport,
  };
}

/** A Meta report; a rejection without file or line (its payload was unreadable) reads as null, as written. */
export function parseMetaReport(value: unknown): Parsed<MetaReport> {
  if (!isRecord(value) || value.kind !== 'meta' || typeof value.manifestId !== 'string')
    return { ok: false, error: 'not a meta report' };
  const rejected = (Array.isArray(value.rejected) ? (value.rejected as unknown[]) : [])
    .filter(isRecord)
    .map((r): MetaRejection => ({
      id: String(r.id),
      reason: String(r.reason ?? ''),
      batchIndex: typeof r.batchIndex === 'number' ? r.batchIndex : -1,
      key: typeof r.key === 'string' ? r.key : null,
      line: typeof r.line === 'number' ? r.line : null,
    }));
  return { ok: true, value: { ...(value as unknown as MetaReport), rejected } };
}
