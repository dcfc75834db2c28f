import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeDlqMessage, type DlqEntry } from './dlq-message.ts';
import { awsErrorMessage, isQueueMissing, isReceiptHandleGone, OpsError } from './errors.ts';

/**
 * A pass over a queue. SQS has no cursor and no peek: the only way to see message 11 is to keep messages
 * 1–10 invisible while reading on. So every message the scan does not consume is held with a visibility
 * timeout long enough for the scan and made visible again by `releaseAll()` the moment the scan ends
 * (callers do that in `finally`), rather than left to time out.
 */

export interface Received {
  message: Message;
  entry: DlqEntry;
  receiptHandle: string;
}

export interface ScanOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Seconds a received message stays hidden while the scan goes on. */
  holdSeconds: number;
  /** Long-poll seconds per receive. Above 0 SQS asks every server, so an empty answer means empty. */
  waitSeconds: number;
}

export type ScanEnd =
  /** Nothing visible is left. */
  | 'empty'
  /** Only messages this scan already saw came back: their hold lapsed, so the scan has been round once. */
  | 'cycled';

export interface ReleaseFailure {
  messageId: string;
  error: string;
}

export class DlqScan {
  readonly #options: ScanOptions;
  /** messageId → latest receipt handle, for every message this scan hides and has not consumed. */
  readonly #held = new Map<string, string>();
  readonly #seen = new Set<string>();

  constructor(options: ScanOptions) {
    this.#options = options;
  }

  get heldCount(): number {
    return this.#held.size;
  }

  /** Receives up to `max` (≤ 10) messages; `fresh` excludes ones this scan already returned. */
  async receive(max: number): Promise<{ fresh: Received[]; end: ScanEnd | null }> {
    const { sqs, queueUrl, holdSeconds, waitSeconds } = this.#options;
    let messages: Message[];
    try {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
          VisibilityTimeout: holdSeconds,
          WaitTimeSeconds: waitSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      );
      messages = out.Messages ?? [];
    } catch (err) {
      throw queueError(err, queueUrl, 'receive from');
    }
    if (messages.length === 0) return { fresh: [], end: 'empty' };
    const fresh: Received[] = [];
    for (const message of messages) {
      const id = message.MessageId ?? '';
      const receiptHandle = message.ReceiptHandle ?? '';
      // Hidden again by this receive, whether new or seen: track the newest handle so release works.
      this.#held.set(id, receiptHandle);
      if (this.#seen.has(id)) continue;
      this.#seen.add(id);
      fresh.push({ message, entry: describeDlqMessage(message), receiptHandle });
    }
    return { fresh, end: fresh.length === 0 ? 'cycled' : null };
  }

  /** The message is no longer this scan's to release: deleted, or its lease was lost to someone else. */
  forget(messageId: string): void {
    this.#held.delete(messageId);
  }

  /** As `forget`, and a later receive returns it as fresh again (it slipped away before it was handled). */
  unsee(messageId: string): void {
    this.#held.delete(messageId);
    this.#seen.delete(messageId);
  }

  /** Makes every held message visible again at once. Never throws: a failed release only delays a message. */
  async releaseAll(): Promise<{ released: number; failed: ReleaseFailure[] }> {
    const { sqs, queueUrl } = this.#options;
    const entries = [...this.#held.entries()];
    this.#held.clear();
    let released = 0;
    const failed: ReleaseFailure[] = [];
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const out = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map(([, handle], n) => ({
              Id: String(n),
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            })),
          }),
        );
        released += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) {
          // Gone means someone else holds it now or it is visible already: nothing to restore.
          if (isReceiptHandleGone(f)) continue;
          failed.push({ messageId: chunk[Number(f.Id)]?.[0] ?? '', error: `${f.Code}: ${f.Message ?? ''}` });
        }
      } catch (err) {
        for (const [messageId] of chunk) failed.push({ messageId, error: awsErrorMessage(err) });
      }
    }
    return { released, failed };
  }
}

export function queueError(err: unknown, queueUrl: string, doing: string): Error {
  if (isQueueMissing(err))
    return new OpsError(
      `queue ${queueUrl} does not exist: check the URL (--queue-url/--dlq-url or QUEUE_URL/DLQ_URL) and AWS_REGION`,
      { queueUrl },
      { cause: err },
    );
  return new OpsError(
    `could not ${doing} ${queueUrl}: ${awsErrorMessage(err)}`,
    { queueUrl },
    { cause: err },
  );
}
