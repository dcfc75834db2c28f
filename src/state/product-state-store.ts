import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../shared/map-limit.ts';
import { ConditionFailedError, getJson, putJson } from '../shared/s3-json.ts';
import { shardKey, shardOf, shardOfKey, stateFolder } from '../contract/layout.ts';
import {
  STATE_FORMAT,
  assertEntryFields,
  emptyShard,
  readShard,
  type ProductStateEntry,
  type ProductStateShard,
} from '../contract/product-state.ts';
import { LeaseLostError } from './catalog-lease.ts';
import { mergeEntry, type StateUpdate } from './send-gate.ts';

/**
 * The product state store: what the send paths need of it, and its S3 implementation.
 *
 * `ProductStateStore` is the contract every store keeps (the S3 shards here; DynamoDB in
 * dynamo-state-store.ts; STATE_STORE picks one, state-store.ts builds it):
 * - `read(ids)` returns a snapshot of those products' entries;
 * - `merge(updates, snapshot?, fence?)` applies `mergeEntry` (send-gate.ts) per product, each write
 *   conditional on what was read; a lost race re-reads and re-merges, so concurrent workers never
 *   overwrite a newer stamp. With `fence` (the catalog lease token), a product already written under a
 *   higher token refuses the write with LeaseLostError.
 *
 * The S3 store below keeps the sharded layout (src/contract/layout.ts, record format in
 * src/contract/product-state.ts; a shard of the older format is read and rewritten in today's): only the shards a flush touches are
 * read; every write is conditional on the ETag read (or on the shard not existing yet). Its cost grows
 * with the catalog (a shard holds ~1/256 of it), which is why DynamoDB exists.
 */

/** The state of the products a read was about. */
export interface StateSnapshot {
  get(id: string): ProductStateEntry | undefined;
}

export interface ProductStateStore {
  read(ids: Iterable<string>): Promise<StateSnapshot>;
  merge(updates: Map<string, StateUpdate>, snapshot?: StateSnapshot, fence?: number): Promise<void>;
  /** Every product's entry (whole-state readers: drift, export); cost proportional to the catalog. */
  entries(): AsyncIterable<[string, ProductStateEntry]>;
}

export interface StateStoreOptions {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  /** Shard reads/writes in flight at once. */
  concurrency?: number;
  /** Attempts per shard when writers race. */
  maxAttempts?: number;
}

interface LoadedShard {
  etag: string | null;
  shard: ProductStateShard;
}

export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
}

/** The shards read, with their ETags, so the later merge can skip a re-read. */
export class S3StateSnapshot implements StateSnapshot {
  readonly shards: Map<string, LoadedShard>;
  constructor(shards: Map<string, LoadedShard>) {
    this.shards = shards;
  }
  get(id: string): ProductStateEntry | undefined {
    return this.shards.get(shardOf(id))?.shard.products[id];
  }
}

export class S3StateStore implements ProductStateStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #maxAttempts: number;

  constructor(options: StateStoreOptions) {
    this.#s3 = options.s3;
    this.#bucket = options.bucket;
    this.#prefix = options.syncedPrefix;
    this.#concurrency = options.concurrency ?? 32;
    this.#maxAttempts = options.maxAttempts ?? 10;
  }

  async read(ids: Iterable<string>): Promise<S3StateSnapshot> {
    const shards = [...new Set([...ids].map(shardOf))].sort();
    const loaded = await mapLimit(shards, this.#concurrency, (s) => this.#readShard(s));
    return new S3StateSnapshot(new Map(shards.map((s, i) => [s, loaded[i]!])));
  }

  /** The shard (as stored) and its fence for each id that has an entry: the legacy read of the DynamoDB store. */
  async readWithFence(
    ids: Iterable<string>,
  ): Promise<Map<string, { entry: ProductStateEntry; fence: number }>> {
    const snapshot = await this.read(ids);
    const out = new Map<string, { entry: ProductStateEntry; fence: number }>();
    for (const id of ids) {
      const loaded = snapshot.shards.get(shardOf(id));
      const entry = loaded?.shard.products[id];
      if (entry) out.set(id, { entry, fence: loaded.shard.fence ?? 0 });
    }
    return out;
  }

  /** True when no shard exists under <prefix>state/ (one LIST). */
  async isEmpty(): Promise<boolean> {
    const res = await this.#s3.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: stateFolder(this.#prefix), MaxKeys: 1 }),
    );
    return (res.KeyCount ?? res.Contents?.length ?? 0) === 0;
  }

  /** Every shard that exists, by name (`3f`). */
  async *shards(): AsyncIterable<[string, ProductStateShard]> {
    let token: string | undefined;
    do {
      const res = await this.#s3.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: stateFolder(this.#prefix),
          ContinuationToken: token,
        }),
      );
      const names = (res.Contents ?? []).flatMap((o) => {
        const name = shardOfKey(o.Key ?? '');
        return name === null ? [] : [name];
      });
      const loaded = await mapLimit(names, this.#concurrency, (s) => this.#readShard(s));
      for (let i = 0; i < names.length; i++) yield [names[i]!, loaded[i]!.shard];
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async *entries(): AsyncIterable<[string, ProductStateEntry]> {
    for await (const [, shard] of this.shards()) yield* Object.entries(shard.products);
  }

  /**
   * Merges the updates shard by shard. `snapshot` (from read) saves the first re-read. Sends (`decided`)
   * pass the catalog lease's fencing token: a shard already written under a higher token refuses them
   * with LeaseLostError, so a worker that lost its lease cannot overwrite the new holder's decisions.
   */
  async merge(updates: Map<string, StateUpdate>, snapshot?: StateSnapshot, fence?: number): Promise<void> {
    const known = snapshot instanceof S3StateSnapshot ? snapshot : undefined;
    const byShard = new Map<string, [string, StateUpdate][]>();
    for (const [id, update] of updates) {
      const shard = shardOf(id);
      const list = byShard.get(shard) ?? [];
      list.push([id, update]);
      byShard.set(shard, list);
    }
    await mapLimit([...byShard], this.#concurrency, ([shard, list]) =>
      this.#mergeShard(shard, list, known?.shards.get(shard), fence),
    );
  }

  async #readShard(shard: string): Promise<LoadedShard> {
    const key = shardKey(this.#prefix, shard);
    const got = await getJson<unknown>(this.#s3, this.#bucket, key);
    if (!got) return { etag: null, shard: emptyShard() };
    // Either format reads as today's; the next write of the shard stores it in today's format.
    return { etag: got.etag, shard: readShard(got.value, `state shard ${key}`) };
  }

  async #mergeShard(
    shard: string,
    updates: [string, StateUpdate][],
    known: LoadedShard | undefined,
    fence: number | undefined,
  ): Promise<void> {
    let current = known ?? (await this.#readShard(shard));
    for (let attempt = 1; ; attempt++) {
      const seen = current.shard.fence ?? 0;
      if (fence !== undefined && seen > fence) {
        throw new LeaseLostError(
          `state shard ${shard} was written under lease token ${seen}; ours is ${fence}`,
        );
      }
      const products = { ...current.shard.products };
      let changed = false;
      for (const [id, update] of updates) {
        const next = mergeEntry(products[id], update);
        if (next) {
          assertEntryFields(id, next);
          products[id] = next;
          changed = true;
        }
      }
      if (!changed) return;
      try {
        await putJson(
          this.#s3,
          this.#bucket,
          shardKey(this.#prefix, shard),
          {
            v: STATE_FORMAT,
            products,
            ...(fence !== undefined || seen > 0 ? { fence: Math.max(seen, fence ?? 0) } : {}),
          } satisfies ProductStateShard,
          current.etag ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionFailedError) || attempt >= this.#maxAttempts) throw err;
        current = await this.#readShard(shard);
      }
    }
  }
}

/**
 * The S3 store under the name the send paths use: `new ProductStateStore(...)` is the S3 store, and the
 * type `ProductStateStore` is the contract above that every store implements.
 */
export const ProductStateStore = S3StateStore;
