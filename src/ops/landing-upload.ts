import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.ts';
import { awsErrorMessage, OpsError } from './errors.ts';

/**
 * Uploading a file to the landing prefix with the SDK, as `catalog-sync put` and the sandbox's drop folder
 * do; the upload's bucket, key, ETag and version are what a manifest names when it covers the file.
 */

export interface Uploaded {
  file: string;
  bucket: string;
  key: string;
  /** Unquoted, as S3 events and manifests carry it. */
  etag: string;
  versionId: string | null;
  size: number;
  uploadedAt: string;
}
/** The landing key of a file: --key when given, else the landing prefix and the file's name. */
export function landingKeyFor(landingPrefix: string, file: string, key?: string): string {
  if (key !== undefined) return key.replace(/^\/+/, '');
  return `${landingPrefix}${path.basename(file)}`;
}

export async function uploadFile(s3: S3Client, bucket: string, key: string, file: string): Promise<Uploaded> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    throw new OpsError(`cannot read ${file}: ${(err as Error).message}`, { file });
  }
  let out;
  try {
    out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' }),
    );
  } catch (err) {
    throw new OpsError(
      `could not upload ${file} to s3://${bucket}/${key}: ${awsErrorMessage(err)} ` +
        '(check LANDING_BUCKET, AWS_REGION, AWS_ENDPOINT_URL and your credentials)',
      { file, bucket, key },
      { cause: err },
    );
  }
  return {
    file,
    bucket,
    key,
    etag: (out.ETag ?? '').replace(/"/g, ''),
    versionId: out.VersionId ?? null,
    size: body.length,
    uploadedAt: new Date().toISOString(),
  };
}

function isLoopback(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * Uploads with the bucket's event notification switched off around the put, so S3 sends no event: what a
 * lost event looks like to the worker. Only against a local emulator (the sandbox's moto).
 */
export async function uploadWithoutEvent(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  endpoint: string | undefined,
): Promise<Uploaded> {
  if (!isLoopback(endpoint))
    throw new ConfigError([
      "--lose-event switches the bucket's event notification off for a moment: it is only allowed when " +
        `AWS_ENDPOINT_URL points at a local emulator on this machine (it is ${endpoint ? `"${endpoint}"` : 'not set'})`,
    ]);
  const saved = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const { $metadata: _m, ...config } = saved;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
  );
  try {
    return await uploadFile(s3, bucket, key, file);
  } finally {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }),
    );
  }
}
