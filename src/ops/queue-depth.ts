import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queueError } from './dlq-scan.ts';

export interface QueueDepth {
  url: string;
  /** Waiting to be received. */
  visible: number;
  /** Received and not yet deleted: held by a worker (or a listing) right now. */
  inFlight: number;
  delayed: number;
}

export async function queueDepth(sqs: SQSClient, url: string): Promise<QueueDepth> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const n = (name: string) => Number(out.Attributes?.[name as keyof typeof out.Attributes] ?? 0);
    return {
      url,
      visible: n('ApproximateNumberOfMessages'),
      inFlight: n('ApproximateNumberOfMessagesNotVisible'),
      delayed: n('ApproximateNumberOfMessagesDelayed'),
    };
  } catch (err) {
    throw queueError(err, url, 'read the depth of');
  }
}
