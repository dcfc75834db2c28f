import type { S3Client } from '@aws-sdk/client-s3';
import { buildFileReport, buildRowsReport, errorReportKey } from '../ingest/error-report.ts';
import type { IntakeReport } from './file-intake.ts';
import type { Manifest } from './manifest.ts';
import { putJson } from '../shared/s3-json.ts';
import { windowFolder } from '../shared/hours.ts';

/**
 * The two kinds of reports in errors/: one per landing file with rejected rows or a file problem (built by
 * src/ingest/error-report.ts), and one per manifest with the items Meta rejected. Keys are deterministic,
 * so reading the same file version again overwrites its report instead of adding a second one.
 */

export interface ReportLocation {
  s3: S3Client;
  bucket: string;
  errorsPrefix: string;
}

export interface MetaRejection {
  id: string;
  reason: string;
  batchIndex: number;
  key: string | null;
  line: number | null;
}

export function metaReportKey(
  errorsPrefix: string,
  manifest: Pick<Manifest, 'window' | 'manifestId'>,
): string {
  return `${errorsPrefix}meta/${windowFolder(manifest.window)}/${manifest.manifestId}.json`;
}

export async function writeRowReport(
  loc: ReportLocation,
  report: IntakeReport,
  now = Date.now(),
): Promise<string> {
  const source = { bucket: report.bucket, key: report.key, etag: report.etag };
  const createdAt = new Date(now);
  // Filed under the window's hour (like the manifests), so a redelivery overwrites rather than duplicates.
  const key = errorReportKey({
    errorsPrefix: loc.errorsPrefix,
    landingKey: report.key,
    etag: report.etag,
    createdAt: new Date(Date.parse(report.window)),
  });
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
    schemaVersion: 1,
    kind: 'meta',
    manifestId: manifest.manifestId,
    createdAt: new Date(now).toISOString(),
    rejected,
  });
  return key;
}

/** An item whose fate at Meta is still unknown after the automatic resends. */
export interface UnknownItem {
  id: string;
  key: string;
  line: number;
  batchIndex: number;
  why: string;
}

export function unknownReportKey(
  errorsPrefix: string,
  manifest: Pick<Manifest, 'window' | 'manifestId'>,
): string {
  return `${errorsPrefix}unknown/${windowFolder(manifest.window)}/${manifest.manifestId}.json`;
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
    schemaVersion: 1,
    kind: 'unknown',
    manifestId: manifest.manifestId,
    createdAt: new Date(now).toISOString(),
    items,
  });
  return key;
}
