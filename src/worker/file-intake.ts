import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import {
  FileUnusableError,
  type FileProblem,
  type IngestEvent,
  type IngestOptions,
} from '../ingest/types.ts';
import { unquoteEtag, type ObjectRef } from './queue-message.ts';
import { isConditionFailed, isNotFound } from '../shared/s3-json.ts';
import { windowOf } from '../shared/hours.ts';
import { FileRowCollector, type FileRows, type WindowSource } from './window-buffer.ts';

/**
 * Reads one landing file completely (GetObject → the CSV reader) into rows ready to join a window, and
 * writes its row or file report. Nothing joins a window until the whole file was read, so a read that
 * fails half-way leaves no trace and the message is simply delivered again.
 */

export type RowReader = (stream: Readable, options: IngestOptions) => AsyncIterable<IngestEvent>;

export interface RowRejection {
  line: number;
  id: string | null;
  reason: string;
}

export interface IntakeReport {
  bucket: string;
  key: string;
  etag: string;
  window: string;
  fileError: { problem: FileProblem; message: string; line: number | null } | null;
  rejected: RowRejection[];
  total: number;
}

/** Writes a report to errors/rows/…; returns its key. */
export type ReportWriter = (report: IntakeReport) => Promise<string>;

export type IntakeResult =
  | { kind: 'read'; window: string; file: FileRows }
  /** NoSuchKey: the object was deleted (or archived) before we got to it. */
  | { kind: 'gone' }
  /** The object was overwritten since the event; the newer version has its own event. */
  | { kind: 'changed' };

export interface IntakeDeps {
  s3: S3Client;
  readRows: RowReader;
  ingest: IngestOptions;
  writeReport: ReportWriter;
  /**
   * Most distinct products one file may bring (FILE_MAX_PRODUCTS): the worker holds a file's products
   * until its window is sent, so this bounds its memory by configuration, not by the file.
   */
  maxFileProducts?: number | undefined;
}

/**
 * A file with more distinct products than this worker is configured to hold. Transient on purpose: the
 * message is delivered again (a worker with a higher limit may take it), and dead-lettered with this
 * reason on its last receive, instead of the process being killed for memory half-way.
 */
export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
}

export async function readLandingFile(deps: IntakeDeps, ref: ObjectRef): Promise<IntakeResult> {
  let res;
  try {
    res = await deps.s3.send(
      new GetObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        ...(ref.versionId ? { VersionId: ref.versionId } : ref.etag ? { IfMatch: `"${ref.etag}"` } : {}),
      }),
    );
  } catch (err) {
    if (isNotFound(err)) return { kind: 'gone' };
    if (isConditionFailed(err)) return { kind: 'changed' };
    throw err;
  }
  const etag = unquoteEtag(res.ETag) ?? ref.etag;
  if (!etag) throw new Error(`GetObject of ${ref.key} returned no ETag`);
  // A straggler has no event time; LastModified is when the object was created.
  const eventTime = ref.eventTime ?? res.LastModified?.getTime() ?? Date.now();
  const window = windowOf(eventTime);
  const collector = new FileRowCollector();
  const rejected: RowRejection[] = [];
  let fileError: IntakeReport['fileError'] = null;
  try {
    for await (const event of deps.readRows(res.Body as Readable, deps.ingest)) {
      if (event.kind === 'row') {
        collector.accept(event.item, event.line, event.version ?? null);
        if (deps.maxFileProducts !== undefined && collector.rows.size > deps.maxFileProducts) {
          throw new FileTooLargeError(
            `${ref.key} has more than ${deps.maxFileProducts} distinct products (stopped at line ${event.line}): ` +
              'more than this worker may hold in memory (FILE_MAX_PRODUCTS); split the file, or raise the ' +
              'limit with the task memory (bench/results/latest.md: memory per product)',
          );
        }
      } else {
        collector.reject();
        rejected.push({ line: event.line, id: event.id, reason: event.reason });
      }
    }
  } catch (err) {
    if (!(err instanceof FileUnusableError)) throw err;
    fileError = { problem: err.problem, message: err.message, line: err.line ?? null };
    // A file-level problem voids the file: none of its rows are sent.
    collector.rows.clear();
    collector.counts.valid = 0;
    collector.counts.superseded = 0;
  }
  const source: WindowSource = {
    bucket: ref.bucket,
    key: ref.key,
    etag,
    versionId: ref.versionId ?? res.VersionId ?? null,
    sequencer: ref.sequencer,
    eventTime,
    size: ref.size ?? res.ContentLength ?? null,
    fileError: fileError ? `${fileError.problem}: ${fileError.message}` : null,
    errorReportKey: null,
    rows: collector.counts,
  };
  if (fileError || rejected.length > 0) {
    source.errorReportKey = await deps.writeReport({
      bucket: ref.bucket,
      key: ref.key,
      etag,
      window,
      fileError,
      rejected,
      total: collector.counts.total,
    });
  }
  return { kind: 'read', window, file: { source, rows: collector.rows } };
}
