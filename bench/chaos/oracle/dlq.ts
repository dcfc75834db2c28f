import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readDeadLetterReason } from '../../../src/dead-letter.ts';

export interface DlqMessage {
  id: string;
  body: string;
  /** `<kind>: <error>` from the worker's dead-letter attributes, or null when it has none. */
  reason: string | null;
}

/** Every DLQ message (each received once, hidden for a few seconds, then visible again). */
export async function dlqMessages(sqs: SQSClient, dlqUrl: string): Promise<DlqMessage[]> {
  const seen = new Map<string, DlqMessage>();
  for (let i = 0; i < 100; i++) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 5,
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = (res.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) {
      const reason = readDeadLetterReason(m.MessageAttributes);
      seen.set(m.MessageId!, {
        id: m.MessageId!,
        body: m.Body ?? '',
        reason: reason ? `${reason.kind}: ${reason.error}` : null,
      });
    }
  }
  return [...seen.values()];
}

/** (iv) Every DLQ message carries the worker's reason (src/dead-letter.ts attributes). */
export function dlqProblems(messages: readonly DlqMessage[]): string[] {
  return messages
    .filter((m) => !m.reason)
    .map((m) => `message ${m.id} has no reason attribute: ${m.body.slice(0, 160)}`);
}
