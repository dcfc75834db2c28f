import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { UploadRecord } from './ledger.ts';

/**
 * Event-level faults: a file whose S3 event never reaches the queue (notifications switched off around
 * its upload, so only the DAG's straggler path can find it), and an OLD event delivered again long after
 * (S3 and SQS are at-least-once; a redelivery may come after newer files were synced).
 */

/** Runs `fn` with the bucket's event notifications switched off; puts the configuration back after. */
export async function withoutEvents<T>(s3: S3Client, bucket: string, fn: () => Promise<T>): Promise<T> {
  const saved = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const { $metadata: _, ...config } = saved;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
  );
  try {
    return await fn();
  } finally {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }),
    );
  }
}

/** The S3 ObjectCreated event of an upload, as S3 sends it (form-encoded key, its original event time). */
export function s3EventBody(bucket: string, upload: UploadRecord, eventTimeMs: number): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date(eventTimeMs).toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeURIComponent(upload.key).replace(/%20/g, '+').replace(/%2F/g, '/'),
            size: 0,
            eTag: upload.etag,
          },
        },
      },
    ],
  });
}

/** Sends an old upload's event again, with the event time it had (`eventTimeMs`: from its manifest, else LastModified). */
export async function redeliverOldEvent(
  sqs: SQSClient,
  queueUrl: string,
  bucket: string,
  upload: UploadRecord,
  eventTimeMs: number,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3EventBody(bucket, upload, eventTimeMs) }),
  );
}
