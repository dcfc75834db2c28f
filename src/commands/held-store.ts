import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../config.ts';
import type { StatusStore } from '../ops/status-report.ts';
import { opsClients } from './aws-clients.ts';

/** What `release` and `discard` both work on: the synced bucket's manifests, and the queue's client. */
export function heldStore(env: NodeJS.ProcessEnv): { s3: S3Client; sqs: SQSClient; store: StatusStore } {
  const cfg = loadConfig(env, ['awsRegion', 'syncedBucket', 'syncedPrefix', 'errorsPrefix']);
  const { s3, sqs } = opsClients(cfg.awsRegion, env);
  const store = {
    s3,
    bucket: cfg.syncedBucket,
    syncedPrefix: cfg.syncedPrefix,
    errorsPrefix: cfg.errorsPrefix,
  };
  return { s3, sqs, store };
}
