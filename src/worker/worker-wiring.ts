import type { Message } from '@aws-sdk/client-sqs';
import type { Consumer } from 'sqs-consumer';
import type { FlushReason } from './debounce.ts';
import type { SubmissionHaltedError } from './errors.ts';
import type { FlushRunnerDeps } from './flush-runner.ts';
import type { FlushResult } from './flush.ts';
import { HeldMessages } from './held-messages.ts';
import { ManifestFollowers } from './manifest-followers.ts';
import type { RouterDeps } from './message-router.ts';
import { OpenWindows, type OpenWindow } from './open-windows.ts';
import { createQueueConsumer } from './queue-consumer.ts';
import { SubmissionHalt } from './submission-halt.ts';
import { TaskMessages } from './task-messages.ts';
import type { TaskContext } from './tasks/context.ts';
import type { WorkerEvents } from './worker-events.ts';
import type { WorkerParts } from './worker-parts.ts';

/**
 * The worker's own parts, built from the ready collaborators (compose.ts) and wired to the lifecycle
 * through `hooks`: what each part calls back into worker.ts. Kept apart so worker.ts holds the lifecycle
 * alone (receive, flush, halt, resume, stop) and this file the wiring of who calls whom.
 */

/** What the parts call back into the lifecycle. */
export interface WorkerHooks {
  /** The signal of the work in hand: aborts at the end of the grace period, or on a halt. */
  signal(): AbortSignal;
  halted(): boolean;
  stopping(): boolean;
  halt(err: SubmissionHaltedError): void;
  /** Meta accepts the credentials again. */
  resume(): void;
  handleMessage(message: Message): Promise<Message | undefined>;
  enqueueFlush(open: OpenWindow, reason: FlushReason): void;
  afterFlushes<T>(step: () => Promise<T>): Promise<T>;
  park(open: OpenWindow): void;
  flushed(open: OpenWindow, result: FlushResult): void;
  reportError(err: unknown, step: string): void;
  fileRead(file: WorkerEvents['file_read'][0]): void;
  batchFinished(finished: WorkerEvents['batch_finished'][0]): void;
}

export interface WorkerWiring {
  held: HeldMessages;
  tasks: TaskMessages;
  windows: OpenWindows;
  consumer: Consumer;
  halt: SubmissionHalt;
  followers: ManifestFollowers;
  ctx: TaskContext;
  router: RouterDeps;
  flushRunner: FlushRunnerDeps;
}

export function wireWorker(parts: WorkerParts, hooks: WorkerHooks): WorkerWiring {
  const s = parts.settings;
  const log = parts.logger;
  const now = parts.now;
  const held: HeldMessages = new HeldMessages({
    sqs: parts.sqs,
    queueUrl: s.queueUrl,
    visibilityTimeoutS: s.visibilityTimeoutS,
    maxHeld: s.maxHeldMessages,
    logger: log,
    now,
    onFull: () => windows.closeAll('backpressure'),
  });
  const tasks = new TaskMessages({
    sqs: parts.sqs,
    held,
    queueUrl: s.queueUrl,
    dlqUrl: s.dlqUrl,
    maxReceiveCount: s.maxReceiveCount,
    logger: log,
    now,
  });
  const windows = new OpenWindows({
    timing: { quietMs: s.quietMs, maxHoldMs: s.maxHoldMs, maxItems: s.windowMaxItems },
    now,
    newTask: (name) => tasks.newTask(name),
    onClose: (open, reason) => hooks.enqueueFlush(open, reason),
  });
  const halt = new SubmissionHalt({
    client: parts.client,
    logger: log,
    metrics: parts.metrics,
    authAlertIntervalMs: s.authAlertIntervalMs,
    authProbeIntervalMs: s.authProbeIntervalMs,
    onAccepted: () => hooks.resume(),
    stopping: () => hooks.stopping(),
  });
  const consumer = createQueueConsumer({
    sqs: parts.sqs,
    queueUrl: s.queueUrl,
    visibilityTimeoutS: s.visibilityTimeoutS,
    sqsWaitTimeS: s.sqsWaitTimeS,
    logger: log,
    handleMessage: (m) => hooks.handleMessage(m),
  });
  const followers = new ManifestFollowers({
    poll: parts.poll,
    logger: log,
    metrics: parts.metrics,
    signal: () => hooks.signal(),
    halt: (err) => hooks.halt(err),
    finished: (finished) => hooks.batchFinished(finished),
    failed: (err) => hooks.reportError(err, 'poll'),
  });
  const ctx: TaskContext = {
    log,
    metrics: parts.metrics,
    signal: () => hooks.signal(),
    halted: () => hooks.halted(),
    halt: (err) => hooks.halt(err),
    finish: (task, how) => tasks.finish(task, how),
    follow: (key, manifest, extraRetries) => followers.follow(key, manifest, extraRetries),
    afterFlushes: (step) => hooks.afterFlushes(step),
  };
  const router: RouterDeps = {
    ctx,
    tasks,
    held,
    windows,
    manifests: parts.manifests,
    repair: parts.repair,
    inspect: parts.inspect,
    intake: {
      intake: parts.intake,
      windows,
      landing: { bucket: s.landingBucket, prefix: s.landingPrefix },
      windowMaxItems: s.windowMaxItems,
      now,
      metrics: parts.metrics,
      onFileRead: (file) => hooks.fileRead(file),
    },
  };
  const flushRunner: FlushRunnerDeps = {
    flush: parts.flush,
    tasks,
    held,
    logger: log,
    metrics: parts.metrics,
    now,
    signal: () => hooks.signal(),
    halted: () => hooks.halted(),
    halt: (err) => hooks.halt(err),
    park: (open) => hooks.park(open),
    flushed: (open, result) => hooks.flushed(open, result),
  };
  return { held, tasks, windows, consumer, halt, followers, ctx, router, flushRunner };
}
