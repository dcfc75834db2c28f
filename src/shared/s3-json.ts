import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * JSON objects in S3 with their ETags, and conditional writes: the one way manifests and product state
 * change, so that two writers cannot silently overwrite each other.
 */

export interface Versioned<T> {
  value: T;
  etag: string;
}

export type WriteCondition = { ifMatch: string } | { ifNoneMatch: '*' } | null;

export class ConditionFailedError extends Error {
  override readonly name = 'ConditionFailedError';
  readonly key: string;
  constructor(key: string, cause: unknown) {
    super(`conditional write of ${key} lost to another writer`, { cause });
    this.key = key;
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const name = (err as Error | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

/** 412, and the 409 S3 answers when two conditional writes race. */
export function isConditionFailed(err: unknown): boolean {
  const name = (err as Error | null)?.name;
  const status = httpStatus(err);
  return (
    name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || status === 412 || status === 409
  );
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<Versioned<T> | null> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await res.Body!.transformToString('utf-8');
    return { value: JSON.parse(text) as T, etag: res.ETag ?? '' };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Writes JSON; returns the new ETag. Throws ConditionFailedError when the condition does not hold. */
export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
  condition: WriteCondition = null,
): Promise<string> {
  return putJsonText(s3, bucket, key, JSON.stringify(value), condition);
}

/** putJson of a document already serialised (a payload spliced from spooled item JSON). */
export async function putJsonText(
  s3: S3Client,
  bucket: string,
  key: string,
  json: string,
  condition: WriteCondition = null,
): Promise<string> {
  try {
    const res = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: json,
        ContentType: 'application/json',
        ...(condition && 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : {}),
        ...(condition && 'ifNoneMatch' in condition ? { IfNoneMatch: '*' } : {}),
      }),
    );
    return res.ETag ?? '';
  } catch (err) {
    if (condition && isConditionFailed(err)) throw new ConditionFailedError(key, err);
    throw err;
  }
}
