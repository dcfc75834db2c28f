import type { Logger } from '../../logger.ts';
import type { ServiceMetrics } from '../../metrics.ts';
import type { Versioned } from '../../shared/s3-json.ts';
import type { SubmissionHaltedError } from '../errors.ts';
import type { Manifest } from '../../contract/manifest.ts';
import type { TaskEnd } from '../task-messages.ts';

/**
 * What a task handler (release, drift check, re-check, resume) may ask of the worker's lifecycle: the
 * lifecycle owns halting, the flush order and status polling; the handlers own one kind of work each.
 */
export interface TaskContext {
  readonly log: Logger;
  readonly metrics: ServiceMetrics | undefined;
  /** Aborts at the end of the shutdown grace period, or on a halt; a new one after a resume. */
  signal(): AbortSignal;
  halted(): boolean;
  halt(err: SubmissionHaltedError): void;
  /** Ends a task: its held messages are deleted (work recorded) or released (tried again later). */
  finish(task: string, how: TaskEnd): Promise<void>;
  /** Polls a submitted manifest to its final state in the background (once per manifest). */
  follow(key: string, manifest: Versioned<Manifest>, extraRetries?: number): Promise<void>;
  /** Runs `step` after the flushes already queued (normal traffic first), one at a time with them. */
  afterFlushes<T>(step: () => Promise<T>): Promise<T>;
}
