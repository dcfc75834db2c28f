import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import type { Logger } from '../logger.ts';
import { receiveCountOf } from './dead-lettering.ts';

/**
 * The SQS receive loop (sqs-consumer), set up for the worker: a heartbeat that covers the handler (reading
 * a large file; once it returns HeldMessages takes over), a short backoff for a message whose handler
 * threw, and a backoff on failed receives so an unreachable queue costs a few requests a minute.
 */
export function createQueueConsumer(options: {
  sqs: SQSClient;
  queueUrl: string;
  visibilityTimeoutS: number;
  sqsWaitTimeS: number;
  logger: Logger;
  handleMessage: (m: Message) => Promise<Message | undefined>;
}): Consumer {
  const { visibilityTimeoutS, logger } = options;
  const consumer = Consumer.create({
    queueUrl: options.queueUrl,
    sqs: options.sqs,
    batchSize: 10,
    waitTimeSeconds: options.sqsWaitTimeS,
    visibilityTimeout: visibilityTimeoutS,
    heartbeatInterval: Math.max(1, Math.floor(visibilityTimeoutS / 2)),
    messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    // A message whose handler threw comes back after a backoff, not after the full visibility timeout.
    terminateVisibilityTimeout: (msgs) =>
      Math.min(visibilityTimeoutS, 2 ** Math.min(10, receiveCountOf(msgs[0] ?? {}))),
    handleMessage: options.handleMessage,
  });
  // sqs-consumer polls again at once after a failed receive; back off (1 s doubling to 30 s), and reset
  // on the next good receive.
  let receiveBackoffMs = 0;
  consumer.on('error', (err, message) => {
    if (message) return logger.warn('SQS error', { err });
    receiveBackoffMs = Math.min(30_000, Math.max(1000, receiveBackoffMs * 2));
    consumer.updateOption('pollingWaitTimeMs', receiveBackoffMs);
    logger.warn('SQS receive failed; backing off', { err, retryInMs: receiveBackoffMs });
  });
  const receiveRecovered = () => {
    if (receiveBackoffMs === 0) return;
    receiveBackoffMs = 0;
    consumer.updateOption('pollingWaitTimeMs', 0);
    logger.info('SQS receive recovered');
  };
  consumer.on('response_processed', receiveRecovered);
  consumer.on('empty', receiveRecovered);
  consumer.on('processing_error', (err, m) =>
    logger.warn('message handling failed; SQS will deliver it again', { err, messageId: m.MessageId }),
  );
  return consumer;
}
