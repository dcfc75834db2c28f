import {
  GetQueueAttributesCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deadLetterAttributes, type DeadLetterReason } from '../../src/dead-letter.ts';

/** Builders for queue messages in the formats the worker and the DAG produce, and queue inspection. */

export function s3EventBody(bucket: string, ...keys: string[]): string {
  return JSON.stringify({
    Records: keys.map((key) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      eventTime: '2026-11-25T17:03:00.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: bucket },
        // S3 encodes keys form-style: spaces as '+', the rest percent-encoded.
        object: {
          key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'),
          size: 10,
          eTag: 'e1',
        },
      },
    })),
  });
}

export function stragglerBody(bucket: string, key: string): string {
  return JSON.stringify({
    kind: 'catalog-sync.straggler',
    version: 1,
    bucket,
    key,
    etag: null,
    reason: 'no-manifest',
    sentAt: '2026-11-25T18:05:00Z',
  });
}

export function recheckBody(manifestKey: string): string {
  return JSON.stringify({
    kind: 'catalog-sync.status-recheck',
    version: 1,
    manifestKey,
    sentAt: '2026-11-25T18:05:00Z',
  });
}

export function reason(overrides: Partial<DeadLetterReason> = {}): DeadLetterReason {
  return {
    kind: 'transient-exhausted',
    error: 'S3 GetObject timed out',
    failedAt: '2026-11-25T17:10:00.000Z',
    receiveCount: 5,
    sourceQueue: 'catalog-sync-events',
    ...overrides,
  };
}

export interface Outgoing {
  body: string;
  reason?: DeadLetterReason | null;
  attributes?: Record<string, MessageAttributeValue>;
}

/** Sends messages as the worker dead-letters them: the body plus its verdict attributes. */
export async function sendAll(sqs: SQSClient, queueUrl: string, messages: Outgoing[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, n) => ({
          Id: String(n),
          MessageBody: m.body,
          MessageAttributes: {
            ...(m.reason === null ? {} : deadLetterAttributes(m.reason ?? reason())),
            ...m.attributes,
          },
        })),
      }),
    );
    if (out.Failed?.length) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
  }
}

export async function depth(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Receives and deletes everything visible: what arrived in a queue, and a clean queue after. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const got = out.Messages ?? [];
    if (got.length === 0) return all;
    all.push(...got);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

/** Empties queues between tests (PurgeQueue allows one call a minute). */
export async function empty(sqs: SQSClient, ...urls: string[]): Promise<void> {
  for (const url of urls) await drain(sqs, url);
}

/** Counts how often each body occurs. */
export function tally(messages: Message[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.Body ?? '', (counts.get(m.Body ?? '') ?? 0) + 1);
  return counts;
}
