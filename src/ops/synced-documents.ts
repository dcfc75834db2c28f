import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { awsErrorCode, awsErrorMessage, OpsError } from './errors.ts';

/** Reading the synced bucket's JSON documents: list a prefix, read one, read many with a bound. */

function bucketError(err: unknown, bucket: string, key: string): OpsError {
  if (awsErrorCode(err) === 'NoSuchBucket')
    return new OpsError(
      `bucket ${bucket} does not exist: check SYNCED_BUCKET and AWS_REGION`,
      { bucket },
      { cause: err },
    );
  return new OpsError(
    `could not read s3://${bucket}/${key}: ${awsErrorMessage(err)}`,
    { bucket, key },
    { cause: err },
  );
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    let out;
    try {
      out = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
    } catch (err) {
      throw bucketError(err, bucket, prefix);
    }
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export type JsonRead = { found: false } | { found: true; value: unknown } | { found: true; error: string };

/** Missing is an answer (`found: false`); unparsable JSON is reported, not thrown, so one bad file never hides the rest. */
export async function readJson(s3: S3Client, bucket: string, key: string): Promise<JsonRead> {
  let text: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await out.Body?.transformToString()) ?? '';
  } catch (err) {
    if (awsErrorCode(err) === 'NoSuchKey') return { found: false };
    throw bucketError(err, bucket, key);
  }
  try {
    return { found: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { found: true, error: `not valid JSON: ${(err as Error).message}` };
  }
}
