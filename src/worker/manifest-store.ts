import { readBatchPayload, type BatchPayload, type Manifest } from '../contract/manifest.ts';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { manifestErrors } from './json-schemas.ts';
import { ConditionFailedError, getJson, putJson, putJsonText, type Versioned } from '../shared/s3-json.ts';

/**
 * Manifests in the synced bucket. Every write is validated against the schema first and is conditional:
 * created with If-None-Match: *, changed with If-Match on the ETag read. A lost race re-reads and
 * re-applies the change, which decides for itself whether it still applies.
 */

export class ManifestInvalidError extends Error {
  override readonly name = 'ManifestInvalidError';
  readonly key: string;
  constructor(key: string, why: string) {
    super(`manifest ${key} does not match manifest.schema.json: ${why}`);
    this.key = key;
  }
}

/** A change to a manifest; returns the new manifest, or null when nothing needs writing. */
export type ManifestChange = (current: Manifest) => Manifest | null;

export class ManifestStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #maxAttempts: number;
  readonly #now: () => number;

  constructor(options: { s3: S3Client; bucket: string; maxAttempts?: number; now?: () => number }) {
    this.#s3 = options.s3;
    this.#bucket = options.bucket;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#now = options.now ?? Date.now;
  }

  async read(key: string): Promise<Versioned<Manifest> | null> {
    return getJson<Manifest>(this.#s3, this.#bucket, key);
  }

  async create(key: string, manifest: Manifest): Promise<Versioned<Manifest>> {
    this.#validate(key, manifest);
    const etag = await putJson(this.#s3, this.#bucket, key, manifest, { ifNoneMatch: '*' });
    return { value: manifest, etag };
  }

  /** Applies `change` to `current` and writes it with If-Match; on a lost race re-reads and retries. */
  async update(
    key: string,
    current: Versioned<Manifest>,
    change: ManifestChange,
  ): Promise<Versioned<Manifest>> {
    let base = current;
    for (let attempt = 1; ; attempt++) {
      const next = change(structuredClone(base.value));
      if (next === null) return base;
      next.updatedAt = new Date(this.#now()).toISOString();
      this.#validate(key, next);
      try {
        const etag = await putJson(this.#s3, this.#bucket, key, next, { ifMatch: base.etag });
        return { value: next, etag };
      } catch (err) {
        if (!(err instanceof ConditionFailedError) || attempt >= this.#maxAttempts) throw err;
        const fresh = await this.read(key);
        if (!fresh) throw err;
        base = fresh;
      }
    }
  }

  async writePayload(key: string, payload: BatchPayload): Promise<void> {
    await putJson(this.#s3, this.#bucket, key, payload);
  }

  /** A payload already serialised (payload-json.ts): the JSON of a BatchPayload. */
  async writePayloadJson(key: string, json: string): Promise<void> {
    await putJsonText(this.#s3, this.#bucket, key, json);
  }

  async readPayload(key: string): Promise<BatchPayload> {
    const got = await getJson<unknown>(this.#s3, this.#bucket, key);
    if (!got) throw new Error(`batch payload ${key} is missing`);
    return readBatchPayload(got.value, key);
  }

  /** Keys of the manifests under a folder (one window). */
  async list(folder: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: folder, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) if (o.Key?.endsWith('.json')) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  #validate(key: string, manifest: Manifest): void {
    const why = manifestErrors(manifest);
    if (why !== null) throw new ManifestInvalidError(key, why);
  }
}
