import { rejectedIn, type Manifest } from '../contract/manifest.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { MetaReport, RowReport } from '../contract/reports.ts';

/**
 * "Did this product reach Meta, when, and if not why": the product-state entry says what was last sent
 * and in which manifest batch; the batch says what Meta made of it; the error reports say why a row never
 * got that far. Pure: the I/O that finds these documents lives in status-report.ts.
 */

export interface SendRecord {
  sentAt: string;
  manifestKey: string;
  batchIndex: number;
  /** The file the sent row came from. */
  sourceKey: string;
  handle: string | null;
}

export type ProductVerdict =
  | { kind: 'accepted'; sent: SendRecord; finishedAt: string | null }
  | { kind: 'rejected-by-meta'; sent: SendRecord; reason: string }
  | { kind: 'in-progress'; sent: SendRecord; batchStatus: 'unsent' | 'running' }
  | { kind: 'batch-error'; sent: SendRecord; errorsTotal: number | null }
  | { kind: 'manifest-missing'; sent: SendRecord }
  | { kind: 'row-rejected'; rejection: RowRejection }
  | { kind: 'no-record'; hours: number };

export interface RowRejection {
  sourceKey: string;
  line: number;
  reason: string;
  createdAt: string;
  reportKey: string;
}

export interface MetaRejection {
  manifestId: string;
  batchIndex: number;
  reason: string;
  /** File and line the item came from; null when the worker could not read its batch payload. */
  sourceKey: string | null;
  line: number | null;
  createdAt: string;
  reportKey: string;
}

export interface UnusableFile {
  sourceKey: string;
  problem: string;
  message: string;
  createdAt: string;
  reportKey: string;
}

export interface ProductEvidence {
  rowRejections: RowRejection[];
  metaRejections: MetaRejection[];
  unusableFiles: UnusableFile[];
}

/** Collects what the reports say about one id, newest first. */
export function evidenceFor(
  id: string,
  rows: readonly { key: string; report: RowReport }[],
  meta: readonly { key: string; report: MetaReport }[],
): ProductEvidence {
  const byNewest = <T extends { createdAt: string }>(xs: T[]) =>
    xs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return {
    rowRejections: byNewest(
      rows.flatMap(({ key, report }) =>
        report.rejected
          .filter((r) => r.id === id)
          .map((r) => ({
            sourceKey: report.source.key,
            line: r.line,
            reason: r.reason,
            createdAt: report.createdAt,
            reportKey: key,
          })),
      ),
    ),
    metaRejections: byNewest(
      meta.flatMap(({ key, report }) =>
        report.rejected
          .filter((r) => r.id === id)
          .map((r) => ({
            manifestId: report.manifestId,
            batchIndex: r.batchIndex,
            reason: r.reason,
            sourceKey: r.key,
            line: r.line,
            createdAt: report.createdAt,
            reportKey: key,
          })),
      ),
    ),
    unusableFiles: byNewest(
      rows.flatMap(({ key, report }) =>
        report.kind === 'file'
          ? [
              {
                sourceKey: report.source.key,
                problem: report.problem ?? 'unusable',
                message: report.message ?? '',
                createdAt: report.createdAt,
                reportKey: key,
              },
            ]
          : [],
      ),
    ),
  };
}

export function productVerdict(
  id: string,
  entry: ProductStateEntry | null,
  manifest: Manifest | null,
  evidence: ProductEvidence,
  hours: number,
): ProductVerdict {
  if (entry === null) {
    const latest = evidence.rowRejections[0];
    return latest ? { kind: 'row-rejected', rejection: latest } : { kind: 'no-record', hours };
  }
  const batch = manifest?.batches.find((b) => b.index === entry.batchIndex);
  const sent: SendRecord = {
    sentAt: new Date(entry.decidedAt).toISOString(),
    manifestKey: entry.manifestKey,
    batchIndex: entry.batchIndex,
    sourceKey: entry.sourceKey,
    handle: batch?.handle ?? null,
  };
  if (!manifest || !batch) return { kind: 'manifest-missing', sent };
  const rejected =
    rejectedIn(batch).find((r) => r.id === id) ??
    evidence.metaRejections.find(
      (r) => r.manifestId === manifest.manifestId && r.batchIndex === entry.batchIndex,
    );
  if (rejected) return { kind: 'rejected-by-meta', sent, reason: rejected.reason };
  switch (batch.status) {
    case 'finished':
      return { kind: 'accepted', sent, finishedAt: batch.finishedAt ?? null };
    case 'error':
      return { kind: 'batch-error', sent, errorsTotal: batch.errorsTotal ?? null };
    default:
      return { kind: 'in-progress', sent, batchStatus: batch.status };
  }
}
