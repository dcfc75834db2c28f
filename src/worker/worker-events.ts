import type { Message } from '@aws-sdk/client-sqs';
import type { FlushReason } from './debounce.ts';
import type { SubmissionHaltedError } from './errors.ts';
import type { PollOutcome } from './status-poller.ts';

/**
 * What the worker emits, as sqs-consumer does for its own life: a typed EventEmitter map, so metrics,
 * logging and tests subscribe without reaching into the worker. `error` is emitted only while someone
 * listens (an unheard `error` would throw); every error is logged where it happens regardless.
 */
export interface WorkerEvents {
  started: [];
  message_received: [message: Message];
  file_read: [file: { window: string; key: string; etag: string; rows: number; valid: number }];
  window_closed: [window: { window: string; reason: FlushReason; products: number; files: number }];
  window_flushed: [flushed: { window: string; manifestId: string; needsPolling: boolean }];
  batch_finished: [finished: { manifestKey: string; manifestId: string; outcome: PollOutcome }];
  halted: [err: SubmissionHaltedError];
  resumed: [];
  error: [err: unknown, context: { step: string }];
  stopped: [summary: { released: number }];
}

export type WorkerEventName = keyof WorkerEvents;
