import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterAttributes, type DeadLetterKind } from '../dead-letter.ts';

/**
 * Moves a message the worker gives up on to the dead-letter queue itself, with the reason as message
 * attributes (src/dead-letter.ts), so an operator sees why before redriving. The caller then
 * acknowledges (deletes) the original.
 */

export class NoDeadLetterQueueError extends Error {
  override readonly name = 'NoDeadLetterQueueError';
}

export function receiveCountOf(message: Message): number {
  const n = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

export async function sendToDeadLetterQueue(
  sqs: SQSClient,
  queues: { dlqUrl: string | undefined; sourceQueueUrl: string },
  message: Message,
  reason: { kind: DeadLetterKind; error: string },
  now = Date.now(),
): Promise<void> {
  if (!queues.dlqUrl) {
    throw new NoDeadLetterQueueError(
      'DLQ_URL is not set: the message stays on the queue until its redrive policy moves it (without a reason)',
    );
  }
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queues.dlqUrl,
      MessageBody: message.Body ?? '',
      MessageAttributes: {
        ...message.MessageAttributes,
        ...deadLetterAttributes({
          kind: reason.kind,
          error: reason.error,
          failedAt: new Date(now).toISOString(),
          receiveCount: receiveCountOf(message),
          sourceQueue: queues.sourceQueueUrl,
        }),
      },
    }),
  );
}
