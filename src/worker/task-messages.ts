import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetterKind } from '../dead-letter.ts';
import type { Logger } from '../logger.ts';
import { receiveCountOf, sendToDeadLetterQueue } from './dead-lettering.ts';
import { reasonOf } from './error-policy.ts';
import type { HeldMessages } from './held-messages.ts';

/**
 * The tasks the worker runs (windows, re-checks, releases, drift checks) and the fate of the SQS messages
 * held for them: deleted when the task's work is recorded, released for another delivery, or
 * dead-lettered with the reason. A message is only held for a live task.
 */

export interface TaskMessagesOptions {
  sqs: SQSClient;
  held: HeldMessages;
  queueUrl: string;
  dlqUrl: string | undefined;
  maxReceiveCount: number;
  logger: Logger;
  now: () => number;
}

export type TaskEnd = 'delete' | 'release';

export class TaskMessages {
  readonly #o: TaskMessagesOptions;
  readonly #live = new Set<string>();
  #seq = 0;

  constructor(options: TaskMessagesOptions) {
    this.#o = options;
  }

  /**
   * The last receive on which a message's work is tried. One below the queue's maxReceiveCount, so that a
   * message whose attempts all ended in a crash or a stop is still seen once more, and dead-lettered by us
   * with a reason, before SQS would move it to the DLQ with none.
   */
  get lastTry(): number {
    return Math.max(1, this.#o.maxReceiveCount - 1);
  }

  newTask(name: string): string {
    const task = `${name}#${++this.#seq}`;
    this.#live.add(task);
    return task;
  }

  isLive(task: string): boolean {
    return this.#live.has(task);
  }

  async finish(task: string, how: TaskEnd): Promise<void> {
    this.#live.delete(task);
    try {
      if (how === 'delete') await this.#o.held.complete(task);
      else await this.#o.held.release(task);
    } catch (err) {
      // The messages come back when their visibility lapses; the work is idempotent.
      this.#o.logger.warn(`could not ${how} the messages of a task`, { task, err });
    }
  }

  /** Dead-letters every message of the task with the reason (Meta refused the request). */
  async deadLetterTask(task: string, kind: DeadLetterKind, why: string): Promise<void> {
    const messages = this.#o.held.messagesOf(task);
    this.#o.held.forget(messages);
    this.#live.delete(task);
    for (const m of messages) await this.#deadLetterAndDelete(m, kind, why);
  }

  /** Gives up on a task: messages on their last receive are dead-lettered, the others released. */
  async giveUp(task: string, err: unknown): Promise<void> {
    const why = reasonOf(err);
    const exhausted = this.#o.held.messagesOf(task).filter((m) => receiveCountOf(m) >= this.lastTry);
    this.#o.held.forget(exhausted);
    for (const m of exhausted) await this.#deadLetterAndDelete(m, 'transient-exhausted', why);
    await this.finish(task, 'release');
  }

  /** Sends one message to the DLQ with its reason (the caller acknowledges it to sqs-consumer). */
  async deadLetter(message: Message, kind: DeadLetterKind, error: string): Promise<void> {
    const o = this.#o;
    await sendToDeadLetterQueue(
      o.sqs,
      { dlqUrl: o.dlqUrl, sourceQueueUrl: o.queueUrl },
      message,
      { kind, error },
      o.now(),
    );
  }

  /** Makes a message visible again at once (received while stopping or halted). */
  async releaseNow(message: Message): Promise<void> {
    await this.#o.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#o.queueUrl,
        ReceiptHandle: message.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
  }

  async #deadLetterAndDelete(m: Message, kind: DeadLetterKind, why: string): Promise<void> {
    try {
      await this.deadLetter(m, kind, why);
      await this.#o.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.#o.queueUrl, ReceiptHandle: m.ReceiptHandle! }),
      );
    } catch (err) {
      this.#o.logger.error('could not dead-letter a message; it stays on the queue', {
        messageId: m.MessageId,
        err,
      });
    }
  }
}
