import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import path from 'node:path';
import { Consumer } from 'sqs-consumer';
import type { Config } from '../config.ts';
import type { DeadLetterKind } from '../dead-letter.ts';
import type { IngestOptions } from '../ingest/types.ts';
import type { Logger } from '../logger.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { failpoint } from '../failpoints.ts';
import type { CallBudget } from '../meta/call-budget.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import { CatalogLease } from '../state/catalog-lease.ts';
import { createStateStore } from '../state/state-store.ts';
import { AbortedError, backoffDelay, sleep } from '../shared/backoff.ts';
import { receiveCountOf, sendToDeadLetterQueue } from './dead-lettering.ts';
import type { FlushReason } from './debounce.ts';
import { FlushRefusedError, SubmissionHaltedError } from './errors.ts';
import { readLandingFile, type IntakeDeps, type RowReader } from './file-intake.ts';
import { flushWindow, type FlushDeps } from './flush.ts';
import { removeStaleSpools } from './spool.ts';
import { HeldMessages } from './held-messages.ts';
import { manifestFolder, type Manifest } from './manifest.ts';
import { ManifestStore } from './manifest-store.ts';
import { isCsvKey, parseQueueMessage, skipReason, type ObjectRef } from './queue-message.ts';
import { writeMetaReport, writeRowReport, writeUnknownReport } from './reports.ts';
import { resendUnknown } from './resend.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { pollManifest, type PollDeps } from './status-poller.ts';
import { windowBefore, windowOf } from '../shared/hours.ts';
import { OpenWindows, type OpenWindow } from './open-windows.ts';
import { GuardrailHistory } from '../guardrails/history-store.ts';
import { releaseHeld } from '../guardrails/release.ts';
import { createWindowGuard, type GuardrailConfig } from '../guardrails/window-check.ts';
import { inspectCatalog } from '../drift/inspect.ts';
import { repairAndReport, type RepairDeps } from '../drift/repair.ts';

/**
 * The long-running consumer: receives S3 events and sweep messages, reads each file into the open window
 * of its UTC hour, holds the messages (held-messages.ts) until the window's flush (flush.ts) has durably
 * recorded the work, then follows the batches to their final status (status-poller.ts). Flushes run one
 * at a time, so an older window's rows can never overtake a newer window's in this process.
 */

export type WorkerConfig = Pick<
  Config,
  | 'landingBucket'
  | 'landingPrefix'
  | 'syncedBucket'
  | 'syncedPrefix'
  | 'stateStore'
  | 'stateTable'
  | 'errorsPrefix'
  | 'queueUrl'
  | 'dlqUrl'
  | 'catalogId'
  | 'currency'
  | 'columnMap'
  | 'defaultCondition'
  | 'titleMaxLength'
  | 'descriptionMaxLength'
  | 'batchMaxItems'
  | 'maxPayloadBytes'
  | 'quietMs'
  | 'maxHoldMs'
  | 'windowMaxItems'
  | 'maxFileProducts'
  | 'spoolDir'
  | 'maxHeldMessages'
  | 'visibilityTimeoutS'
  | 'shutdownGraceMs'
  | 'statusPollInitialMs'
  | 'statusPollMaxMs'
  | 'statusPollDeadlineMs'
  | 'maxReceiveCount'
  | 'sqsWaitTimeS'
  | 'flushRetryMaxMs'
  | 'authAlertIntervalMs'
  | 'authProbeIntervalMs'
  | 'requestTimeoutMs'
  | 'leaseTtlMs'
  | 'unsentSettleMs'
  | 'unknownRetryMax'
  | 'unknownRetryBaseMs'
  | 'versionColumn'
  | 'driftFields'
  | 'driftPageSize'
  | 'driftConfirmMax'
  | 'driftBudgetReserve'
  | 'driftDeleteOrphans'
  | 'driftDeleteMax'
> &
  GuardrailConfig;

export interface WorkerDeps {
  config: WorkerConfig;
  s3: S3Client;
  sqs: SQSClient;
  /** For STATE_STORE=dynamodb; built from the environment when not given. */
  dynamodb?: DynamoDBClient;
  client: CatalogClient;
  readRows: RowReader;
  logger: Logger;
  metrics?: ServiceMetrics;
  now?: () => number;
  /** The client's call budget; shared with the other tasks through the catalog lease when given. */
  budget?: CallBudget;
}

const FLUSH_ATTEMPTS = 3;

/** Spool files live in a folder of their own, so the start-up clean-up only looks at ours. */
export function spoolDirOf(c: Pick<WorkerConfig, 'spoolDir'>): string {
  return path.join(c.spoolDir, 'catalog-sync-spool');
}

export class Worker {
  readonly #d: WorkerDeps;
  readonly #c: WorkerConfig;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #held: HeldMessages;
  readonly #consumer: Consumer;
  readonly #manifests: ManifestStore;
  readonly #flushDeps: FlushDeps;
  readonly #pollDeps: PollDeps;
  readonly #intake: IntakeDeps;
  /** Drift repairs and releases send through the same gate and lease as flushes. */
  readonly #repairDeps: RepairDeps;

  readonly #windows: OpenWindows;
  /** Tasks (windows, re-checks) not yet completed; a message is only held for live tasks. */
  readonly #liveTasks = new Set<string>();
  readonly #polls = new Map<string, Promise<void>>();
  #flushChain: Promise<void> = Promise.resolve();
  #seq = 0;
  #inflight = 0;
  /** Aborts flush retries and status polls: at the end of the shutdown grace period, or on a halt. */
  #workAbort = new AbortController();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #halted: SubmissionHaltedError | null = null;
  /** Windows whose flush met refused credentials: kept, with their messages held, until submissions resume. */
  #parked: OpenWindow[] = [];
  #alarmTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #haltedTimer: NodeJS.Timeout | undefined;
  #gaugeTimer: NodeJS.Timeout | undefined;

  constructor(deps: WorkerDeps) {
    this.#d = deps;
    this.#c = deps.config;
    this.#log = deps.logger;
    this.#now = deps.now ?? Date.now;
    const c = deps.config;
    this.#held = new HeldMessages({
      sqs: deps.sqs,
      queueUrl: c.queueUrl,
      visibilityTimeoutS: c.visibilityTimeoutS,
      maxHeld: c.maxHeldMessages,
      logger: deps.logger,
      now: this.#now,
      onFull: () => this.#windows.closeAll('backpressure'),
    });
    this.#windows = new OpenWindows({
      timing: { quietMs: c.quietMs, maxHoldMs: c.maxHoldMs, maxItems: c.windowMaxItems },
      now: this.#now,
      newTask: (name) => this.#newTask(name),
      onClose: (open, reason) => this.#enqueueFlush(open, reason),
    });
    this.#manifests = new ManifestStore({ s3: deps.s3, bucket: c.syncedBucket, now: this.#now });
    const ingest: IngestOptions = {
      currency: c.currency,
      columnMap: c.columnMap,
      defaultCondition: c.defaultCondition,
      titleMaxLength: c.titleMaxLength,
      descriptionMaxLength: c.descriptionMaxLength,
      versionColumn: c.versionColumn,
    };
    const reports = { s3: deps.s3, bucket: c.syncedBucket, errorsPrefix: c.errorsPrefix };
    this.#intake = {
      s3: deps.s3,
      readRows: deps.readRows,
      ingest,
      writeReport: (r) => writeRowReport(reports, r, this.#now()),
      maxFileProducts: c.maxFileProducts,
      spoolDir: spoolDirOf(c),
    };
    const state = createStateStore(c, { s3: deps.s3, dynamodb: deps.dynamodb });
    const lease = new CatalogLease({
      s3: deps.s3,
      bucket: c.syncedBucket,
      syncedPrefix: c.syncedPrefix,
      catalogId: c.catalogId,
      ttlMs: c.leaseTtlMs,
      now: this.#now,
      ...(deps.budget
        ? {
            sharedCalls: {
              load: (times: readonly number[]) => deps.budget!.adopt(times),
              save: () => deps.budget!.callTimes(),
            },
          }
        : {}),
    });
    // What every send path shares: the gate's inputs and the lease (flush.ts, resend.ts).
    const gate = {
      client: deps.client,
      state,
      manifests: this.#manifests,
      lease,
      logger: deps.logger,
      now: this.#now,
      sleep,
      syncedPrefix: c.syncedPrefix,
      requestTimeoutMs: c.requestTimeoutMs,
      unsentSettleMs: c.unsentSettleMs,
      waitDeadlineMs: c.statusPollDeadlineMs,
      waitInitialMs: c.statusPollInitialMs,
      waitMaxMs: c.statusPollMaxMs,
      metrics: deps.metrics,
    };
    const history = new GuardrailHistory(
      { s3: deps.s3, bucket: c.syncedBucket, syncedPrefix: c.syncedPrefix, state },
      this.#now,
    );
    this.#repairDeps = {
      ...gate,
      s3: deps.s3,
      bucket: c.syncedBucket,
      catalogId: c.catalogId,
      batchMaxItems: c.batchMaxItems,
      maxPayloadBytes: c.maxPayloadBytes,
      fields: c.driftFields,
      budgetReserve: c.driftBudgetReserve,
      deleteOrphans: c.driftDeleteOrphans,
      deleteMax: c.driftDeleteMax,
      history,
    };
    this.#flushDeps = {
      ...gate,
      guard: createWindowGuard({ history, config: c, logger: deps.logger }),
      catalogId: c.catalogId,
      batchMaxItems: c.batchMaxItems,
      maxPayloadBytes: c.maxPayloadBytes,
      abandonAfterMs: c.visibilityTimeoutS * 1000,
      // DynamoDB reads per key, so the flush walks the window a batch at a time; S3 shards are read whole.
      stateSlice: c.stateStore === 'dynamodb' ? c.batchMaxItems : undefined,
      retry: { initialMs: Math.min(1000, c.flushRetryMaxMs), maxMs: c.flushRetryMaxMs },
    };
    this.#pollDeps = {
      client: deps.client,
      manifests: this.#manifests,
      state,
      logger: deps.logger,
      now: this.#now,
      initialMs: c.statusPollInitialMs,
      maxMs: c.statusPollMaxMs,
      deadlineMs: c.statusPollDeadlineMs,
      unknownRetryMax: c.unknownRetryMax,
      unknownRetryBaseMs: c.unknownRetryBaseMs,
      resend: (key, signal) => resendUnknown(gate, key, signal),
      writeMetaReport: (m, rejected) => writeMetaReport(reports, m, rejected, this.#now()),
      writeUnknownReport: (m, items) => writeUnknownReport(reports, m, items, this.#now()),
      metrics: deps.metrics,
    };
    this.#consumer = Consumer.create({
      queueUrl: c.queueUrl,
      sqs: deps.sqs,
      batchSize: 10,
      waitTimeSeconds: c.sqsWaitTimeS,
      visibilityTimeout: c.visibilityTimeoutS,
      // Covers the handler (reading a large file); once it returns, HeldMessages takes over.
      heartbeatInterval: Math.max(1, Math.floor(c.visibilityTimeoutS / 2)),
      messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      // A message whose handler threw comes back after a backoff, not after the full visibility timeout.
      terminateVisibilityTimeout: (msgs) =>
        Math.min(c.visibilityTimeoutS, 2 ** Math.min(10, receiveCountOf(msgs[0] ?? {}))),
      handleMessage: (m) => this.#handle(m),
    });
    // sqs-consumer polls again at once after a failed receive; back off (1 s doubling to 30 s) so an
    // unreachable queue costs a few requests and log lines a minute, and reset on the next good receive.
    let receiveBackoffMs = 0;
    this.#consumer.on('error', (err, message) => {
      if (message) return this.#log.warn('SQS error', { err });
      receiveBackoffMs = Math.min(30_000, Math.max(1000, receiveBackoffMs * 2));
      this.#consumer.updateOption('pollingWaitTimeMs', receiveBackoffMs);
      this.#log.warn('SQS receive failed; backing off', { err, retryInMs: receiveBackoffMs });
    });
    const receiveRecovered = () => {
      if (receiveBackoffMs === 0) return;
      receiveBackoffMs = 0;
      this.#consumer.updateOption('pollingWaitTimeMs', 0);
      this.#log.info('SQS receive recovered');
    };
    this.#consumer.on('response_processed', receiveRecovered);
    this.#consumer.on('empty', receiveRecovered);
    this.#consumer.on('processing_error', (err, m) =>
      this.#log.warn('message handling failed; SQS will deliver it again', { err, messageId: m.MessageId }),
    );
  }

  /**
   * The last receive on which a message's work is tried. One below the queue's maxReceiveCount, so that a
   * message whose attempts all ended in a crash or a stop is still seen once more, and dead-lettered by us
   * with a reason, before SQS would move it to the DLQ with none.
   */
  get #lastTry(): number {
    return Math.max(1, this.#c.maxReceiveCount - 1);
  }

  get halted(): boolean {
    return this.#halted !== null;
  }

  get heldMessages(): number {
    return this.#held.size;
  }

  start(): void {
    const stale = removeStaleSpools(this.#intake.spoolDir);
    if (stale.length > 0)
      this.#log.info('removed the spool files of an earlier process', { files: stale.length });
    this.#held.start();
    this.#consumer.start();
    this.#log.info('worker started', { stage: 'started', queueUrl: this.#c.queueUrl });
    this.#gaugeTimer = setInterval(() => this.#emitGauges(), 60_000);
    this.#gaugeTimer.unref();
    void this.#resumeSubmitted().catch((err) =>
      this.#log.error('could not resume status polling of submitted manifests', { err }),
    );
  }

  /** Once a minute: how old the oldest file held and not yet accepted is (alarms act on it inside the SLA). */
  #emitGauges(): void {
    const oldest = this.#held.oldestReceivedAt();
    this.#d.metrics?.record('OldestHeldFileAgeSeconds', oldest === null ? 0 : (this.#now() - oldest) / 1000);
    this.#d.metrics?.flush({});
  }

  /** Stops receiving, flushes what can be flushed within the grace period, releases the rest. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  // ── receiving ──────────────────────────────────────────────────────────────────────────────────────

  async #handle(message: Message): Promise<Message | undefined> {
    const receivedAt = this.#now();
    this.#inflight++;
    try {
      await this.#held.waitForCapacity(this.#workAbort.signal);
      if (this.#stopping || this.#halted) {
        await this.#releaseNow(message);
        return undefined;
      }
      const count = receiveCountOf(message);
      if (count > this.#lastTry) {
        // Every earlier delivery ended without its work being recorded (the worker holding it was killed,
        // stopped or lost its lease): SQS would move the next one to the DLQ with no reason attached.
        const why =
          `received ${count} times without its work being recorded (each earlier attempt ended in a crash, ` +
          'a stop or a lost lease); dead-lettered on its last allowed receive so the reason travels with it';
        this.#log.error('message dead-lettered on its last allowed receive', {
          messageId: message.MessageId,
          receiveCount: count,
        });
        await this.#deadLetter(message, 'transient-exhausted', why);
        return message;
      }
      return await this.#dispatch(message, receivedAt);
    } catch (err) {
      return await this.#onHandlerError(message, err);
    } finally {
      this.#inflight--;
    }
  }

  async #dispatch(message: Message, receivedAt: number): Promise<Message | undefined> {
    const log = this.#log.child({ messageId: message.MessageId });
    const msg = parseQueueMessage(message.Body);
    switch (msg.kind) {
      case 's3-test-event':
        log.info('s3:TestEvent acknowledged', { bucket: msg.bucket });
        return message;
      case 'invalid':
        log.warn('message cannot be processed; dead-lettered with its reason', {
          reason: msg.reason,
          kind: msg.deadLetter,
        });
        await this.#deadLetter(message, msg.deadLetter, msg.reason);
        return message;
      case 'status-recheck': {
        const task = this.#newTask(`recheck:${msg.manifestKey}`);
        this.#held.hold(message, [task], receivedAt);
        void this.#recheck(task, msg.manifestKey);
        return undefined;
      }
      case 'release': {
        const task = this.#newTask(`release:${msg.manifestKey}`);
        this.#held.hold(message, [task], receivedAt);
        void this.#release(task, msg);
        return undefined;
      }
      case 'drift-check': {
        const task = this.#newTask('drift-check');
        this.#held.hold(message, [task], receivedAt);
        void this.#driftCheck(task, msg.dryRun);
        return undefined;
      }
      case 's3-event':
      case 'straggler': {
        for (const r of msg.kind === 's3-event' ? msg.ignored : []) {
          log.info('S3 record ignored', { fileKey: r.key, reason: r.reason });
        }
        const objects = msg.kind === 's3-event' ? msg.objects : [msg.object];
        const again = msg.kind === 'straggler' || receiveCountOf(message) > 1;
        const tasks: string[] = [];
        for (const ref of objects) {
          const task = await this.#intakeObject(ref, again, log.child({ fileKey: ref.key }));
          if (task) tasks.push(task);
        }
        // A window may have flushed while a later record was read; its work is recorded already.
        const live = [...new Set(tasks)].filter((t) => this.#liveTasks.has(t));
        if (live.length === 0) return message;
        this.#held.hold(message, live, receivedAt);
        this.#windows.schedule();
        return undefined;
      }
    }
  }

  /** Reads one object into its window; returns the window's task, or null when there is nothing to wait for. */
  async #intakeObject(ref: ObjectRef, again: boolean, log: Logger): Promise<string | null> {
    const skip = skipReason(ref, { bucket: this.#c.landingBucket, prefix: this.#c.landingPrefix });
    if (skip) {
      log.info('object skipped', { reason: skip });
      return null;
    }
    if (!isCsvKey(ref.key)) {
      const report = await this.#intake.writeReport({
        bucket: ref.bucket,
        key: ref.key,
        etag: ref.etag ?? 'unknown',
        window: windowOf(ref.eventTime ?? this.#now()),
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
      const open = this.#windows.get(windowOf(ref.eventTime));
      if (open && open.buffer.hasSource({ bucket: ref.bucket, key: ref.key, etag: ref.etag })) {
        open.buffer.redelivered ||= again;
        log.info('duplicate event for a file already in the open window', { window: open.buffer.window });
        return open.task;
      }
    }
    const result = await readLandingFile(this.#intake, ref);
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
    const open = this.#windows.addFile(window, file, again);
    const rows = file.source.rows;
    this.#d.metrics?.count('FilesProcessed');
    this.#d.metrics?.count('RowsValid', rows.valid);
    this.#d.metrics?.count('RowsRejected', rows.rejected);
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
    });
    if (open.buffer.size >= this.#c.windowMaxItems) this.#windows.close(open, 'max-items');
    return open.task;
  }

  async #onHandlerError(message: Message, err: unknown): Promise<Message | undefined> {
    const count = receiveCountOf(message);
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (count >= this.#lastTry) {
      this.#log.error('message failed on its last allowed receive; dead-lettered with its reason', {
        messageId: message.MessageId,
        receiveCount: count,
        error: why,
      });
      await this.#deadLetter(message, 'transient-exhausted', why);
      return message;
    }
    throw err;
  }

  async #deadLetter(message: Message, kind: DeadLetterKind, error: string): Promise<void> {
    await sendToDeadLetterQueue(
      this.#d.sqs,
      { dlqUrl: this.#c.dlqUrl, sourceQueueUrl: this.#c.queueUrl },
      message,
      { kind, error },
      this.#now(),
    );
  }

  async #releaseNow(message: Message): Promise<void> {
    await this.#d.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#c.queueUrl,
        ReceiptHandle: message.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
  }

  // ── windows ────────────────────────────────────────────────────────────────────────────────────────

  #newTask(name: string): string {
    const task = `${name}#${++this.#seq}`;
    this.#liveTasks.add(task);
    return task;
  }

  #enqueueFlush(open: OpenWindow, reason: FlushReason): void {
    this.#log.info('window closed', {
      window: open.buffer.window,
      reason,
      products: open.buffer.size,
      files: open.buffer.sources.length,
    });
    // Its spool files go once the flush is done with the window, unless it is parked to be flushed again.
    this.#flushChain = this.#flushChain
      .then(() => this.#runFlush(open))
      .finally(() => {
        if (!this.#parked.includes(open)) open.buffer.dispose();
      });
  }

  async #runFlush(open: OpenWindow): Promise<void> {
    const log = this.#log.child({ window: open.buffer.window });
    for (let attempt = 1; ; attempt++) {
      if (this.#halted) return this.#park(open);
      const started = this.#now();
      try {
        const result = await flushWindow(this.#flushDeps, open.buffer, this.#workAbort.signal);
        await this.#finishTask(open.task, 'delete');
        failpoint('flush.after-delete');
        this.#d.metrics?.record('FlushDurationMs', this.#now() - started);
        this.#d.metrics?.record('HeldMessages', this.#held.size);
        if (result.needsPolling) this.#follow(result.key, result.manifest);
        else if (!result.held) this.#d.metrics?.count('SyncSucceeded');
        this.#d.metrics?.flush({ window: open.buffer.window, manifestId: result.manifest.value.manifestId });
        return;
      } catch (err) {
        if (err instanceof SubmissionHaltedError) {
          this.#halt(err);
          return this.#park(open);
        }
        if (this.#halted) return this.#park(open);
        if (err instanceof AbortedError || this.#workAbort.signal.aborted) {
          log.warn('flush interrupted; its messages are released for another delivery');
          return this.#finishTask(open.task, 'release');
        }
        if (err instanceof FlushRefusedError) {
          log.error('Meta refused the flush request; its messages are dead-lettered with the reason', {
            err,
          });
          return this.#deadLetterTask(open.task, 'internal', err.message);
        }
        if (attempt >= FLUSH_ATTEMPTS) {
          log.error('flush failed repeatedly; its messages go back to the queue', { err, attempt });
          return this.#giveUpTask(open.task, err);
        }
        const waitMs = backoffDelay(attempt, this.#flushDeps.retry);
        log.warn('flush failed; retrying', { err, attempt, waitMs });
        try {
          await sleep(waitMs, this.#workAbort.signal);
        } catch {
          return this.#halted ? this.#park(open) : this.#finishTask(open.task, 'release');
        }
      }
    }
  }

  async #finishTask(task: string, how: 'delete' | 'release'): Promise<void> {
    this.#liveTasks.delete(task);
    try {
      if (how === 'delete') await this.#held.complete(task);
      else await this.#held.release(task);
    } catch (err) {
      // The messages come back when their visibility lapses; the work is idempotent.
      this.#log.warn(`could not ${how} the messages of a task`, { task, err });
    }
  }

  /** Dead-letters every message of the task with the reason (meta refused the request). */
  async #deadLetterTask(task: string, kind: DeadLetterKind, why: string): Promise<void> {
    const messages = this.#held.messagesOf(task);
    this.#held.forget(messages);
    this.#liveTasks.delete(task);
    for (const m of messages) await this.#deadLetterAndDelete(m, kind, why);
  }

  /** Gives up on a flush: messages on their last receive are dead-lettered, the others released. */
  async #giveUpTask(task: string, err: unknown): Promise<void> {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const exhausted = this.#held.messagesOf(task).filter((m) => receiveCountOf(m) >= this.#lastTry);
    this.#held.forget(exhausted);
    for (const m of exhausted) await this.#deadLetterAndDelete(m, 'transient-exhausted', why);
    await this.#finishTask(task, 'release');
  }

  async #deadLetterAndDelete(m: Message, kind: DeadLetterKind, why: string): Promise<void> {
    try {
      await this.#deadLetter(m, kind, why);
      await this.#d.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.#c.queueUrl, ReceiptHandle: m.ReceiptHandle! }),
      );
    } catch (err) {
      this.#log.error('could not dead-letter a message; it stays on the queue', {
        messageId: m.MessageId,
        err,
      });
    }
  }

  // ── status ─────────────────────────────────────────────────────────────────────────────────────────

  /** Polls a submitted manifest to its final state in the background (once per manifest). */
  #follow(key: string, manifest: Versioned<Manifest>, extraRetries = 0): Promise<void> {
    const running = this.#polls.get(key);
    if (running) return running;
    const log = this.#log.child({ manifestId: manifest.value.manifestId, window: manifest.value.window });
    const p = pollManifest(this.#pollDeps, key, manifest, this.#workAbort.signal, { extraRetries })
      .then((outcome) => {
        if (outcome === 'finished') this.#d.metrics?.count('SyncSucceeded');
        this.#d.metrics?.flush({ manifestId: manifest.value.manifestId });
      })
      .catch((err) => {
        if (err instanceof SubmissionHaltedError) this.#halt(err);
        else if (!(err instanceof AbortedError))
          log.error('status polling failed; a later re-check finishes it', { err });
      })
      .finally(() => this.#polls.delete(key));
    this.#polls.set(key, p);
    return p;
  }

  /** Runs `step` after the flushes already queued here (normal traffic first), one at a time with them. */
  #afterFlushes<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#flushChain.then(step);
    this.#flushChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** `catalog-sync release`: send a held manifest (src/guardrails/release.ts), then follow it. */
  async #release(task: string, msg: { manifestKey: string; by: string; requestedAt: string }): Promise<void> {
    const log = this.#log.child({ manifestKey: msg.manifestKey });
    try {
      const outcome = await this.#afterFlushes(() =>
        releaseHeld(
          this.#repairDeps,
          { key: msg.manifestKey, by: msg.by, requestedAt: msg.requestedAt },
          this.#workAbort.signal,
        ),
      );
      if (outcome.kind === 'released') void this.#follow(msg.manifestKey, outcome.manifest);
      else log.warn('release: the manifest is not held; acknowledged', { outcome: outcome.kind, ...outcome });
      await this.#finishTask(task, 'delete');
    } catch (err) {
      if (err instanceof SubmissionHaltedError) this.#halt(err);
      else log.error('release failed; the message goes back to the queue', { err });
      await this.#finishTask(task, 'release');
    }
  }

  /**
   * The DAG's drift check (src/drift/): the catalog is read back and classified outside the flush chain
   * (no lease, nothing sent); the repair runs after the flushes queued here, under the lease.
   */
  async #driftCheck(task: string, dryRun: boolean): Promise<void> {
    const c = this.#c;
    try {
      const findings = await inspectCatalog(
        {
          s3: this.#d.s3,
          bucket: c.syncedBucket,
          syncedPrefix: c.syncedPrefix,
          client: this.#d.client,
          state: this.#repairDeps.state,
          logger: this.#log,
          now: this.#now,
          fields: c.driftFields,
          pageSize: c.driftPageSize,
          confirmMax: c.driftConfirmMax,
        },
        this.#workAbort.signal,
      );
      const outcome = await this.#afterFlushes(() =>
        repairAndReport(this.#repairDeps, findings, { dryRun }, this.#workAbort.signal),
      );
      const { counts, calls } = outcome.report;
      this.#log.info('drift check done', {
        stage: 'drift-checked',
        report: outcome.reportKey,
        dryRun,
        ...counts,
        calls,
      });
      if (outcome.repair) void this.#follow(outcome.repair.key, outcome.repair.manifest);
      this.#d.metrics?.flush({ drift: outcome.reportKey });
      await this.#finishTask(task, 'delete');
    } catch (err) {
      if (err instanceof SubmissionHaltedError) this.#halt(err);
      else if (err instanceof GraphApiError && (err.kind === 'auth' || err.kind === 'permission'))
        this.#halt(new SubmissionHaltedError(err));
      else this.#log.error('drift check failed; the message goes back to the queue', { err });
      await this.#finishTask(task, 'release');
    }
  }

  async #recheck(task: string, key: string): Promise<void> {
    const log = this.#log.child({ manifestKey: key });
    try {
      let got = await this.#manifests.read(key);
      if (got && got.value.state === 'finished' && got.value.counts.unknown > 0) {
        // Written by an older version, which called a manifest finished with items of unknown fate: reopen it.
        got = await this.#manifests.update(key, got, (m) =>
          m.state === 'finished' ? { ...m, state: 'submitted', finishedAt: null } : null,
        );
        log.warn('status re-check: finished manifest had items of unknown fate; reopened', {
          unknown: got.value.counts.unknown,
        });
      }
      if (!got) log.warn('status re-check for a manifest that does not exist; acknowledged');
      else if (got.value.state !== 'submitted') {
        log.info('status re-check: manifest is not submitted; acknowledged', { state: got.value.state });
      } else await this.#follow(key, got, 1);
      await this.#finishTask(task, this.#halted || this.#workAbort.signal.aborted ? 'release' : 'delete');
    } catch (err) {
      log.error('status re-check failed; the message goes back to the queue', { err });
      await this.#finishTask(task, 'release');
    }
  }

  /** At start-up: manifests of this and the previous hour left `submitted` by an earlier run. */
  async #resumeSubmitted(): Promise<void> {
    const current = windowOf(this.#now());
    for (const window of [windowBefore(current), current]) {
      for (const key of await this.#manifests.list(manifestFolder(this.#c.syncedPrefix, window))) {
        const got = await this.#manifests.read(key);
        if (got?.value.state === 'submitted') {
          this.#log.info('resuming status polling of a submitted manifest', {
            manifestId: got.value.manifestId,
          });
          void this.#follow(key, got);
        }
      }
    }
  }

  // ── halting and stopping ───────────────────────────────────────────────────────────────────────────

  /**
   * Meta refused the credentials: stop receiving and sending at once, keep all work in the queue (nothing
   * is dead-lettered), say so loudly every AUTH_ALERT_INTERVAL_MS with a metric every minute, and probe
   * cheaply every AUTH_PROBE_INTERVAL_MS (re-reading a rotated token first) to resume by itself.
   */
  #halt(err: SubmissionHaltedError): void {
    if (this.#halted) return;
    this.#halted = err;
    const fields = {
      alert: 'meta-credentials-refused',
      errorKind: err.graph.kind,
      code: err.graph.code,
      subcode: err.graph.subcode,
      fbtraceId: err.graph.fbtraceId,
    };
    const alarm = () =>
      this.#log.error(
        'SUBMISSIONS HALTED: Meta refused the access token or its permissions. No items_batch calls are made ' +
          'and no messages are received; the work is kept (held messages stay held, the rest stays queued). ' +
          'The worker checks the token every ' +
          `${Math.round(this.#c.authProbeIntervalMs / 1000)} s and resumes by itself once it works.`,
        fields,
      );
    const halted = () => {
      this.#d.metrics?.count('SubmissionsHalted');
      this.#d.metrics?.flush({ alert: 'meta-credentials-refused' });
    };
    alarm();
    this.#alarmTimer = setInterval(alarm, this.#c.authAlertIntervalMs);
    this.#haltedTimer = setInterval(halted, 60_000);
    this.#d.metrics?.count('AuthFailures');
    halted();
    this.#consumer.stop({ abort: true });
    // Open windows stay open (frozen) and flushing ones are parked: their messages stay held, not released.
    this.#windows.freeze();
    this.#workAbort.abort();
    this.#scheduleProbe();
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

  #scheduleProbe(): void {
    clearTimeout(this.#probeTimer);
    if (this.#stopping) return;
    this.#probeTimer = setTimeout(() => void this.#probe(), this.#c.authProbeIntervalMs);
  }

  async #probe(): Promise<void> {
    if (!this.#halted || this.#stopping) return;
    try {
      await this.#d.client.refreshCredentials();
      await this.#d.client.probe();
    } catch (err) {
      const kind = err instanceof GraphApiError ? err.kind : 'unknown';
      this.#log.info('credentials probe: still refused or unreachable; submissions stay halted', {
        errorKind: kind,
        err,
      });
      return this.#scheduleProbe();
    }
    this.#resume();
  }

  #resume(): void {
    this.#halted = null;
    clearInterval(this.#alarmTimer);
    clearInterval(this.#haltedTimer);
    this.#workAbort = new AbortController();
    this.#windows.thaw();
    const parked = this.#parked;
    this.#parked = [];
    for (const open of parked) this.#enqueueFlush(open, 'resumed');
    this.#windows.schedule();
    this.#log.warn('SUBMISSIONS RESUMED: Meta accepts the credentials again; receiving and sending', {
      alert: 'meta-credentials-accepted',
    });
    this.#consumer.start();
    void this.#resumeSubmitted().catch((err) =>
      this.#log.error('could not resume status polling of submitted manifests', { err }),
    );
  }

  async #shutdown(): Promise<void> {
    this.#stopping = true;
    const deadline = this.#now() + this.#c.shutdownGraceMs;
    const remaining = () => Math.max(0, deadline - this.#now());
    this.#log.info('worker stopping', { held: this.#held.size, windows: this.#windows.size });
    this.#consumer.stop({ abort: true });
    const graceTimer = setTimeout(() => this.#workAbort.abort(), this.#c.shutdownGraceMs);
    while (this.#inflight > 0 && remaining() > 0) await sleep(20);
    if (!this.#halted) this.#windows.closeAll('shutdown');
    this.#windows.freeze();
    await Promise.race([this.#flushChain, sleep(remaining())]);
    // Batches sent during the grace period may finish in it too; those still running are resumed at start-up.
    await Promise.race([Promise.allSettled([...this.#polls.values()]), sleep(remaining())]);
    this.#workAbort.abort();
    clearTimeout(graceTimer);
    // An aborted flush releases its own messages; give it a moment to do so.
    await Promise.race([this.#flushChain, sleep(2000)]);
    await Promise.allSettled([...this.#polls.values()]);
    const released = await this.#held.release().catch(() => 0);
    this.#held.stop();
    clearInterval(this.#alarmTimer);
    clearInterval(this.#haltedTimer);
    clearInterval(this.#gaugeTimer);
    clearTimeout(this.#probeTimer);
    this.#log.info('worker stopped', { stage: 'stopped', released });
  }
}
