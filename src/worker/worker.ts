import type { Message } from '@aws-sdk/client-sqs';
import { EventEmitter } from 'node:events';
import type { Consumer } from 'sqs-consumer';
import type { Logger } from '../logger.ts';
import { sleep } from '../shared/backoff.ts';
import { removeStaleSpools } from './spool.ts';
import type { FlushReason } from './debounce.ts';
import type { SubmissionHaltedError } from './errors.ts';
import { runFlush, type FlushRunnerDeps } from './flush-runner.ts';
import type { FlushResult } from './flush.ts';
import type { HeldMessages } from './held-messages.ts';
import { onHandlerError, routeMessage, type RouterDeps } from './message-router.ts';
import type { OpenWindow, OpenWindows } from './open-windows.ts';
import type { ManifestFollowers } from './manifest-followers.ts';
import type { SubmissionHalt } from './submission-halt.ts';
import type { TaskMessages } from './task-messages.ts';
import type { TaskContext } from './tasks/context.ts';
import { resumeSubmitted } from './tasks/resume-submitted.ts';
import type { WorkerEvents } from './worker-events.ts';
import type { WorkerParts, WorkerSettings } from './worker-parts.ts';
import { wireWorker } from './worker-wiring.ts';

export type { WorkerParts, WorkerSettings } from './worker-parts.ts';

/**
 * The long-running consumer's lifecycle: receives S3 events and sweep messages (message-router.ts routes
 * each to its task), reads each file into the open window of its UTC hour, holds the messages
 * (held-messages.ts) until the window's flush (flush-runner.ts) has durably recorded the work, then follows
 * the batches to their final status (status-poller.ts); halts on refused credentials and resumes by itself
 * (submission-halt.ts); stops within the grace period. Flushes run one at a time, so an older window's rows
 * can never overtake a newer window's in this process. Built by compose.ts, which wires the collaborators;
 * its own parts are wired in worker-wiring.ts; emits the typed events of worker-events.ts.
 */

export class Worker extends EventEmitter<WorkerEvents> {
  readonly #p: WorkerParts;
  readonly #s: WorkerSettings;
  readonly #log: Logger;
  readonly #held: HeldMessages;
  readonly #tasks: TaskMessages;
  readonly #windows: OpenWindows;
  readonly #consumer: Consumer;
  readonly #halt: SubmissionHalt;
  readonly #ctx: TaskContext;
  readonly #router: RouterDeps;
  readonly #flushRunner: FlushRunnerDeps;
  readonly #followers: ManifestFollowers;
  #flushChain: Promise<void> = Promise.resolve();
  #inflight = 0;
  /** Aborts flush retries and status polls: at the end of the shutdown grace period, or on a halt. */
  #workAbort = new AbortController();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  /** Windows whose flush met refused credentials: kept, with their messages held, until submissions resume. */
  #parked: OpenWindow[] = [];
  #gaugeTimer: NodeJS.Timeout | undefined;

  constructor(parts: WorkerParts) {
    super();
    this.#p = parts;
    this.#s = parts.settings;
    this.#log = parts.logger;
    const w = wireWorker(parts, {
      signal: () => this.#workAbort.signal,
      halted: () => this.halted,
      stopping: () => this.#stopping,
      halt: (err) => this.#haltNow(err),
      resume: () => this.#resume(),
      handleMessage: (m) => this.#handle(m),
      enqueueFlush: (open, reason) => this.#enqueueFlush(open, reason),
      afterFlushes: (step) => this.#afterFlushes(step),
      park: (open) => this.#park(open),
      flushed: (open, result) => this.#flushed(open, result),
      reportError: (err, step) => this.#reportError(err, step),
      fileRead: (file) => this.emit('file_read', file),
      batchFinished: (finished) => this.emit('batch_finished', finished),
    });
    this.#held = w.held;
    this.#tasks = w.tasks;
    this.#windows = w.windows;
    this.#consumer = w.consumer;
    this.#halt = w.halt;
    this.#followers = w.followers;
    this.#ctx = w.ctx;
    this.#router = w.router;
    this.#flushRunner = w.flushRunner;
  }

  /** A window's work is recorded and its messages deleted: follow its batches, tell subscribers. */
  #flushed(open: OpenWindow, result: FlushResult): void {
    const manifestId = result.manifest.value.manifestId;
    if (result.needsPolling) void this.#followers.follow(result.key, result.manifest);
    else if (!result.held) this.#p.metrics?.count('SyncSucceeded');
    this.#p.metrics?.flush({ window: open.buffer.window, manifestId });
    this.emit('window_flushed', {
      window: open.buffer.window,
      manifestId,
      needsPolling: result.needsPolling,
    });
  }

  get halted(): boolean {
    return this.#halt.cause !== null;
  }

  get heldMessages(): number {
    return this.#held.size;
  }

  start(): void {
    const stale = removeStaleSpools(this.#p.intake.spoolDir);
    if (stale.length > 0)
      this.#log.info('removed the spool files of an earlier process', { files: stale.length });
    this.#held.start();
    this.#consumer.start();
    this.#log.info('worker started', { stage: 'started', queueUrl: this.#s.queueUrl });
    this.#gaugeTimer = setInterval(() => this.#emitGauges(), 60_000);
    this.#gaugeTimer.unref();
    this.emit('started');
    this.#resumeSubmitted();
  }

  /** Stops receiving, flushes what can be flushed within the grace period, releases the rest. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  /** Once a minute: how old the oldest file held and not yet accepted is (alarms act on it inside the SLA). */
  #emitGauges(): void {
    const oldest = this.#held.oldestReceivedAt();
    const m = this.#p.metrics;
    m?.record('OldestHeldFileAgeSeconds', oldest === null ? 0 : (this.#p.now() - oldest) / 1000);
    m?.flush({});
  }

  #reportError(err: unknown, step: string): void {
    // An `error` nobody listens to would throw; every error is logged where it happens anyway.
    if (this.listenerCount('error') > 0) this.emit('error', err, { step });
  }

  // ── receiving ──────────────────────────────────────────────────────────────────────────────────────

  async #handle(message: Message): Promise<Message | undefined> {
    const receivedAt = this.#p.now();
    this.#inflight++;
    try {
      await this.#held.waitForCapacity(this.#workAbort.signal);
      if (this.#stopping || this.halted) {
        await this.#tasks.releaseNow(message);
        return undefined;
      }
      this.emit('message_received', message);
      return await routeMessage(this.#router, message, receivedAt);
    } catch (err) {
      this.#reportError(err, 'receive');
      return await onHandlerError(this.#tasks, this.#log, message, err);
    } finally {
      this.#inflight--;
    }
  }

  // ── flushing and following ─────────────────────────────────────────────────────────────────────────

  #enqueueFlush(open: OpenWindow, reason: FlushReason): void {
    const closed = {
      window: open.buffer.window,
      reason,
      products: open.buffer.size,
      files: open.buffer.sources.length,
    };
    this.#log.info('window closed', closed);
    this.emit('window_closed', closed);
    // Its spool files go once the flush is done with the window, unless it is parked to be flushed again.
    this.#flushChain = this.#flushChain
      .then(() => runFlush(this.#flushRunner, open))
      .finally(() => {
        if (!this.#parked.includes(open)) open.buffer.dispose();
      });
  }

  #afterFlushes<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#flushChain.then(step);
    this.#flushChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #resumeSubmitted(): void {
    void resumeSubmitted(this.#ctx, {
      manifests: this.#p.manifests,
      syncedPrefix: this.#s.syncedPrefix,
      now: this.#p.now,
    }).catch((err: unknown) => {
      this.#log.error('could not resume status polling of submitted manifests', { err });
      this.#reportError(err, 'resume-submitted');
    });
  }

  // ── halting and stopping ───────────────────────────────────────────────────────────────────────────

  /**
   * Meta refused the credentials: stop receiving and sending at once and keep all work in the queue
   * (nothing is dead-lettered); submission-halt.ts alarms and probes until the token works again.
   */
  #haltNow(err: SubmissionHaltedError): void {
    if (!this.#halt.begin(err)) return;
    this.#consumer.stop({ abort: true });
    // Open windows stay open (frozen) and flushing ones are parked: their messages stay held, not released.
    this.#windows.freeze();
    this.#workAbort.abort();
    this.emit('halted', err);
  }

  /**
   * Keeps a window whose flush cannot go on while submissions are halted: its messages stay held (their
   * visibility keeps being extended), so a halt that lasts burns no receive counts and dead-letters nothing.
   */
  #park(open: OpenWindow): void {
    this.#parked.push(open);
    this.#log.info('window parked until submissions resume; its messages stay held', {
      window: open.buffer.window,
      files: open.buffer.sources.length,
      held: this.#held.messagesOf(open.task).length,
    });
  }

  #resume(): void {
    this.#halt.end();
    this.#workAbort = new AbortController();
    this.#windows.thaw();
    const parked = this.#parked;
    this.#parked = [];
    for (const open of parked) this.#enqueueFlush(open, 'resumed');
    this.#windows.schedule();
    this.#log.warn('SUBMISSIONS RESUMED: Meta accepts the credentials again; receiving and sending', {
      alert: 'meta-credentials-accepted',
    });
    this.emit('resumed');
    this.#consumer.start();
    this.#resumeSubmitted();
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    const now = this.#p.now;
    const grace = this.#s.shutdownGraceMs;
    const deadline = now() + grace;
    const remaining = () => Math.max(0, deadline - now());
    this.#log.info('worker stopping', { held: this.#held.size, windows: this.#windows.size });
    this.#consumer.stop({ abort: true });
    const graceTimer = setTimeout(() => this.#workAbort.abort(), grace);
    while (this.#inflight > 0 && remaining() > 0) await sleep(20);
    if (!this.halted) this.#windows.closeAll('shutdown');
    this.#windows.freeze();
    await Promise.race([this.#flushChain, sleep(remaining())]);
    // Batches sent during the grace period may finish in it too; those still running are resumed at start-up.
    await Promise.race([this.#followers.settled(), sleep(remaining())]);
    this.#workAbort.abort();
    clearTimeout(graceTimer);
    // An aborted flush releases its own messages; give it a moment to do so.
    await Promise.race([this.#flushChain, sleep(2000)]);
    await this.#followers.settled();
    const released = await this.#held.release().catch(() => 0);
    this.#held.stop();
    this.#halt.stop();
    clearInterval(this.#gaugeTimer);
    this.#log.info('worker stopped', { stage: 'stopped', released });
    this.emit('stopped', { released });
  }
}
