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
import { Spool } from './spool.ts';
import { FileIndexBuilder, sourceStamp, type FileIndex, type WindowSource } from './window-buffer.ts';

/**
 * Reads one landing file completely (GetObject → the CSV reader → each accepted item appended to a spool
 * file of its own, spool.ts) into an index ready to join a window, and writes its row or file report.
 * Nothing joins a window until the whole file was read, so a read that fails half-way leaves no trace
 * (its spool file is removed) and the message is simply delivered again.
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
  | { kind: 'read'; window: string; file: FileIndex }
  /** NoSuchKey: the object was deleted (or archived) before we got to it. */
  | { kind: 'gone' }
  /** The object was overwritten since the event; the newer version has its own event. */
  | { kind: 'changed' };

export interface IntakeDeps {
  s3: S3Client;
  readRows: RowReader;
  ingest: IngestOptions;
  writeReport: ReportWriter;
  /** Where the items of files being read and of open windows are kept (SPOOL_DIR). */
  spoolDir: string;
  /**
   * Most distinct products one file may bring (FILE_MAX_PRODUCTS): the worker holds an index entry per
   * product until its window is sent, so this bounds its memory by configuration, not by the file.
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
  const spool = Spool.create(deps.spoolDir);
  const stamp = sourceStamp({ eventTime, key: ref.key, sequencer: ref.sequencer, etag });
  const collector = new FileIndexBuilder(spool, stamp);
  const rejected: RowRejection[] = [];
  let fileError: IntakeReport['fileError'] = null;
  try {
    for await (const event of deps.readRows(res.Body as Readable, deps.ingest)) {
      if (event.kind === 'row') {
        collector.accept(event.item, event.line, event.version ?? null);
        if (deps.maxFileProducts !== undefined && collector.entries.size > deps.maxFileProducts) {
          throw new FileTooLargeError(
            `${ref.key} has more than ${deps.maxFileProducts} distinct products (stopped at line ${event.line}): ` +
              'more than this worker may hold (FILE_MAX_PRODUCTS); split the file, or raise the limit with ' +
              'the task memory (bench/results/notes.md: memory per product)',
          );
        }
      } else {
        collector.reject();
        rejected.push({ line: event.line, id: event.id, reason: event.reason });
      }
    }
  } catch (err) {
    if (!(err instanceof FileUnusableError)) {
      spool.remove();
      throw err;
    }
    fileError = { problem: err.problem, message: err.message, line: err.line ?? null };
    collector.voidRows();
  }
  if (collector.entries.size === 0) spool.remove();
  else spool.finish();
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
    try {
      source.errorReportKey = await deps.writeReport({
        bucket: ref.bucket,
        key: ref.key,
        etag,
        window,
        fileError,
        rejected,
        total: collector.counts.total,
      });
    } catch (err) {
      spool.remove();
      throw err;
    }
  }
  const file = { source, spool: spool.removed ? null : spool, entries: collector.entries };
  return { kind: 'read', window, file };
}
