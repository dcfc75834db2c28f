import type { S3Client } from '@aws-sdk/client-s3';
import { metaReportKey, rowReportKey, unknownReportKey } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import type { MetaRejection, MetaReport, UnknownItem, UnknownReport } from '../contract/reports.ts';
import { buildFileReport, buildRowsReport } from '../ingest/error-report.ts';
import type { IntakeReport } from './file-intake.ts';
import { putJson } from '../shared/s3-json.ts';

/**
 * Writes the reports of src/contract/reports.ts: one per landing file with rejected rows or a file problem
 * (built by src/ingest/error-report.ts), one per manifest with the items Meta rejected, one per manifest
 * with the items still of unknown fate. Keys are deterministic (src/contract/layout.ts), so reading the
 * same file version again overwrites its report instead of adding a second one.
 */

export interface ReportLocation {
  s3: S3Client;
  bucket: string;
  errorsPrefix: string;
}

export async function writeRowReport(
  loc: ReportLocation,
  report: IntakeReport,
  now = Date.now(),
): Promise<string> {
  const source = { bucket: report.bucket, key: report.key, etag: report.etag };
  const createdAt = new Date(now);
  // Filed under the window's hour (like the manifests), so a redelivery overwrites rather than duplicates.
  const key = rowReportKey(loc.errorsPrefix, report.key, report.etag, new Date(Date.parse(report.window)));
  const body = report.fileError
    ? buildFileReport({
        source,
        createdAt,
        problem: report.fileError.problem,
        message: report.fileError.message,
        ...(report.fileError.line === null ? {} : { line: report.fileError.line }),
      })
    : buildRowsReport({ source, createdAt, total: report.total, rejected: report.rejected });
  await putJson(loc.s3, loc.bucket, key, body);
  return key;
}

export async function writeMetaReport(
  loc: ReportLocation,
  manifest: Pick<Manifest, 'window' | 'manifestId'>,
  rejected: MetaRejection[],
  now = Date.now(),
): Promise<string> {
  const key = metaReportKey(loc.errorsPrefix, manifest);
  await putJson(loc.s3, loc.bucket, key, {
    ...reportHead('meta', manifest, now),
    rejected,
  } satisfies MetaReport);
  return key;
}

/** One per manifest, overwritten on each later attempt: the items still unknown, with file and line. */
export async function writeUnknownReport(
  loc: ReportLocation,
  manifest: Pick<Manifest, 'window' | 'manifestId'>,
  items: UnknownItem[],
  now = Date.now(),
): Promise<string> {
  const key = unknownReportKey(loc.errorsPrefix, manifest);
  await putJson(loc.s3, loc.bucket, key, {
    ...reportHead('unknown', manifest, now),
    items,
  } satisfies UnknownReport);
  return key;
}

function reportHead<K extends 'meta' | 'unknown'>(
  kind: K,
  manifest: Pick<Manifest, 'manifestId'>,
  now: number,
): { schemaVersion: 1; kind: K; manifestId: string; createdAt: string } {
  return { schemaVersion: 1, kind, manifestId: manifest.manifestId, createdAt: new Date(now).toISOString() };
}
