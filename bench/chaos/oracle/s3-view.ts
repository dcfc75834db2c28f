import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { MManifest, Payload } from './manifest.ts';

/** The S3 reads of one oracle check: keys, heads, manifests and (cached) payloads. */
export class S3View {
  private readonly s3: S3Client;
  private readonly payloadCache = new Map<string, Payload | null>();

  constructor(s3: S3Client) {
    this.s3 = s3;
  }

  async keys(bucket: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) out.push(o.Key!);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async text(bucket: string, key: string): Promise<string | null> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await res.Body!.transformToString('utf-8');
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async head(
    bucket: string,
    key: string,
  ): Promise<{ etag: string; metadata: Record<string, string> } | null> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: (res.ETag ?? '').replace(/"/g, ''), metadata: res.Metadata ?? {} };
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFound' || (err as { name?: string }).name === 'NoSuchKey')
        return null;
      throw err;
    }
  }

  async manifests(bucket: string, prefix: string): Promise<MManifest[]> {
    const out: MManifest[] = [];
    for (const key of await this.keys(bucket, prefix)) {
      const text = await this.text(bucket, key);
      if (text !== null) out.push(JSON.parse(text) as MManifest);
    }
    return out;
  }

  /** Payloads never change once written; cached per check. */
  async payload(bucket: string, key: string): Promise<Payload | null> {
    if (!this.payloadCache.has(key)) {
      const text = await this.text(bucket, key);
      this.payloadCache.set(key, text === null ? null : (JSON.parse(text) as Payload));
    }
    return this.payloadCache.get(key)!;
  }
}

/** Every manifest under `<syncedPrefix>manifests/` (for a chaos run that wants a source's event time). */
export async function readManifests(
  s3: S3Client,
  syncedBucket: string,
  syncedPrefix = 'synced/',
): Promise<MManifest[]> {
  return new S3View(s3).manifests(syncedBucket, `${syncedPrefix}manifests/`);
}
