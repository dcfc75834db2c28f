import type { Logger } from '../logger.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { windowOf } from '../shared/hours.ts';
import { readLandingFile, type IntakeDeps } from './file-intake.ts';
import type { OpenWindows } from './open-windows.ts';
import { isCsvKey, skipReason, type ObjectRef } from './queue-message.ts';
import type { WorkerEvents } from './worker-events.ts';

/** One S3 object of an event into the open window of its hour (file-intake.ts reads it). */

export interface IntakeObjectDeps {
  intake: IntakeDeps;
  windows: OpenWindows;
  landing: { bucket: string; prefix: string };
  windowMaxItems: number;
  now: () => number;
  metrics: ServiceMetrics | undefined;
  onFileRead: (file: WorkerEvents['file_read'][0]) => void;
}

/** Reads one object into its window; returns the window's task, or null when there is nothing to wait for. */
export async function intakeObject(
  deps: IntakeObjectDeps,
  ref: ObjectRef,
  again: boolean,
  log: Logger,
): Promise<string | null> {
  const skip = skipReason(ref, deps.landing);
  if (skip) {
    log.info('object skipped', { reason: skip });
    return null;
  }
  if (!isCsvKey(ref.key)) {
    const report = await deps.intake.writeReport({
      bucket: ref.bucket,
      key: ref.key,
      etag: ref.etag ?? 'unknown',
      window: windowOf(ref.eventTime ?? deps.now()),
      fileError: {
        problem: 'not-csv',
        message:
          'only CSV files (*.csv, any case) are read from the landing prefix; rename or move this object',
        line: null,
      },
      rejected: [],
      total: 0,
    });
    log.warn('object in the landing prefix is not a CSV file; file report written', { report });
    return null;
  }
  if (ref.etag && ref.eventTime !== null) {
    const open = deps.windows.get(windowOf(ref.eventTime));
    if (open && open.buffer.hasSource({ bucket: ref.bucket, key: ref.key, etag: ref.etag })) {
      open.buffer.redelivered ||= again;
      log.info('duplicate event for a file already in the open window', { window: open.buffer.window });
      return open.task;
    }
  }
  const startedAt = deps.now();
  const result = await readLandingFile(deps.intake, ref);
  if (result.kind === 'gone') {
    log.info('object no longer exists; acknowledged', { reason: 'NoSuchKey' });
    return null;
  }
  if (result.kind === 'changed') {
    log.info('object was overwritten after this event; its newer version has its own event', {
      etag: ref.etag,
    });
    return null;
  }
  const { file, window } = result;
  const open = deps.windows.addFile(window, file, again);
  const rows = file.source.rows;
  deps.metrics?.count('FilesProcessed');
  deps.metrics?.count('RowsValid', rows.valid);
  deps.metrics?.count('RowsRejected', rows.rejected);
  log.info('file read into window', {
    stage: 'window-open',
    window,
    etag: file.source.etag,
    rows: rows.total,
    valid: rows.valid,
    rejected: rows.rejected,
    fileError: file.source.fileError,
    report: file.source.errorReportKey,
    products: open.buffer.size,
    // GetObject to the last row indexed: what a slow file path shows in, apart from event latency.
    readSeconds: (deps.now() - startedAt) / 1000,
  });
  deps.onFileRead({ window, key: ref.key, etag: file.source.etag, rows: rows.total, valid: rows.valid });
  if (open.buffer.size >= deps.windowMaxItems) deps.windows.close(open, 'max-items');
  return open.task;
}
