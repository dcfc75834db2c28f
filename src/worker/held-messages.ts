import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../logger.ts';

/**
 * SQS messages the worker holds after their handler returned, until the work they stand for is durably
 * recorded. sqs-consumer's heartbeat stops when a handler returns, so this registry owns the rest of
 * their life (as BullMQ's lock manager owns job locks): one timer extends due visibilities in batches of
 * ten; a message is deleted once every task it waits for (a window flush, a status re-check) completed;
 * and the handler waits for room when the registry is full, which stops the next receive (backpressure).
 */

export interface HeldMessagesOptions {
  sqs: SQSClient;
  queueUrl: string;
  visibilityTimeoutS: number;
  maxHeld: number;
  logger: Logger;
  now?: () => number;
  /** Called when the registry becomes full, so open work can be flushed early. */
  onFull?: () => void;
}

interface Held {
  message: Message;
  tasks: Set<string>;
  /** When its visibility was last set to the full timeout (or when it was received). */
  extendedAt: number;
  /** When SQS first got it (its SentTimestamp), else when we first received it: how long its file waits. */
  since: number;
}

const SQS_BATCH = 10;

export class HeldMessages {
  readonly #o: HeldMessagesOptions;
  readonly #now: () => number;
  readonly #held = new Map<string, Held>();
  #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #extending = false;

  constructor(options: HeldMessagesOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#held.size;
  }

  start(): void {
    const tickMs = Math.max(250, (this.#o.visibilityTimeoutS * 1000) / 4);
    this.#timer = setInterval(() => void this.extendDue(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Holds `message` until all `tasks` complete. A message received again (its visibility lapsed, or a
   * duplicate receive) keeps one entry under its MessageId with the newest receipt handle.
   */
  hold(message: Message, tasks: readonly string[], receivedAt: number): void {
    const id = message.MessageId!;
    const existing = this.#held.get(id);
    if (existing) {
      existing.message = message;
      existing.extendedAt = receivedAt;
      for (const t of tasks) existing.tasks.add(t);
      return;
    }
    const sent = Number(message.Attributes?.SentTimestamp);
    const since = Number.isFinite(sent) && sent > 0 ? sent : receivedAt;
    this.#held.set(id, { message, tasks: new Set(tasks), extendedAt: receivedAt, since });
    if (this.#held.size >= this.#o.maxHeld) this.#o.onFull?.();
  }

  /** The earliest `since` of the held messages, or null when none is held. */
  oldestReceivedAt(): number | null {
    let oldest: number | null = null;
    for (const h of this.#held.values()) if (oldest === null || h.since < oldest) oldest = h.since;
    return oldest;
  }

  /** Resolves once there is room for one more message. */
  async waitForCapacity(signal?: AbortSignal): Promise<void> {
    while (this.#held.size >= this.#o.maxHeld && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        // Each wait removes its own listener, so a long-lived signal does not collect one per wait.
        this.#waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  messagesOf(task: string): Message[] {
    return [...this.#held.values()].filter((h) => h.tasks.has(task)).map((h) => h.message);
  }

  /** Marks `task` done; deletes the messages that wait for nothing else. */
  async complete(task: string): Promise<void> {
    const done: Message[] = [];
    for (const [id, h] of this.#held) {
      if (!h.tasks.delete(task)) continue;
      if (h.tasks.size === 0) {
        done.push(h.message);
        this.#held.delete(id);
      }
    }
    this.#wake();
    await this.#deleteMessages(done);
  }

  /** Forgets messages without deleting them (they were dead-lettered and deleted by the caller). */
  forget(messages: readonly Message[]): void {
    for (const m of messages) this.#held.delete(m.MessageId!);
    this.#wake();
  }

  /** Makes the messages of `task` (all messages when omitted) visible again at once and forgets them. */
  async release(task?: string): Promise<number> {
    const released: Message[] = [];
    for (const [id, h] of this.#held) {
      if (task !== undefined && !h.tasks.has(task)) continue;
      released.push(h.message);
      this.#held.delete(id);
    }
    this.#wake();
    await this.#changeVisibility(released, 0);
    return released.length;
  }

  /** Extends every message whose visibility is past half-time. Called by the timer; safe to call any time. */
  async extendDue(): Promise<void> {
    if (this.#extending) return;
    this.#extending = true;
    try {
      const halfMs = (this.#o.visibilityTimeoutS * 1000) / 2;
      const now = this.#now();
      const due = [...this.#held.values()].filter((h) => now - h.extendedAt >= halfMs);
      if (due.length === 0) return;
      const failed = await this.#changeVisibility(
        due.map((h) => h.message),
        this.#o.visibilityTimeoutS,
      );
      for (const h of due) if (!failed.has(h.message.MessageId!)) h.extendedAt = now;
    } catch (err) {
      this.#o.logger.warn('could not extend held messages; they may be delivered again', { err });
    } finally {
      this.#extending = false;
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Returns the MessageIds whose change failed. */
  async #changeVisibility(messages: readonly Message[], seconds: number): Promise<Set<string>> {
    const failed = new Set<string>();
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const group = messages.slice(i, i + SQS_BATCH);
      const res = await this.#o.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#o.queueUrl,
          Entries: group.map((m, j) => ({
            Id: String(j),
            ReceiptHandle: m.ReceiptHandle!,
            VisibilityTimeout: seconds,
          })),
        }),
      );
      for (const f of res.Failed ?? []) {
        const m = group[Number(f.Id)];
        if (!m) continue;
        failed.add(m.MessageId!);
        // A handle that expired means SQS delivers the message again; the work is idempotent.
        this.#o.logger.warn('visibility change failed for a held message', {
          messageId: m.MessageId,
          code: f.Code,
          reason: f.Message,
          visibilityTimeoutS: seconds,
        });
      }
    }
    return failed;
  }

  async #deleteMessages(messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const group = messages.slice(i, i + SQS_BATCH);
      const res = await this.#o.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#o.queueUrl,
          Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      for (const f of res.Failed ?? []) {
        const m = group[Number(f.Id)];
        // Redelivery of a finished file costs a read and no items_batch call (its rows are unchanged).
        this.#o.logger.warn('delete of a finished message failed; it will be delivered again', {
          messageId: m?.MessageId,
          code: f.Code,
          reason: f.Message,
        });
      }
    }
  }
}
