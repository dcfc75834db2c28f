import type { S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../map-limit.ts';
import { ConditionFailedError, getJson, putJson } from '../worker/s3-json.ts';
import {
  emptyShard,
  shardKey,
  shardOf,
  type ProductStateEntry,
  type ProductStateShard,
} from './product-state.ts';
import { LeaseLostError } from './catalog-lease.ts';
import { mergeEntry, type StateUpdate } from './send-gate.ts';

/**
 * Reads and writes the sharded product state (format in product-state.ts). Only the shards a flush
 * touches are read; every write is conditional on the ETag read (or on the shard not existing yet),
 * and a lost race re-reads and re-merges, so concurrent workers never overwrite a newer stamp.
 */

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

/** The state of the products a flush is about, as read; `etags` let the later merge skip a re-read. */
export class StateSnapshot {
  readonly shards: Map<string, LoadedShard>;
  constructor(shards: Map<string, LoadedShard>) {
    this.shards = shards;
  }
  get(id: string): ProductStateEntry | undefined {
    return this.shards.get(shardOf(id))?.shard.products[id];
  }
}

export class ProductStateStore {
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

  async read(ids: Iterable<string>): Promise<StateSnapshot> {
    const shards = [...new Set([...ids].map(shardOf))].sort();
    const loaded = await mapLimit(shards, this.#concurrency, (s) => this.#readShard(s));
    return new StateSnapshot(new Map(shards.map((s, i) => [s, loaded[i]!])));
  }

  /**
   * Merges the updates shard by shard. `snapshot` (from read) saves the first re-read. Sends (`decided`)
   * pass the catalog lease's fencing token: a shard already written under a higher token refuses them
   * with LeaseLostError, so a worker that lost its lease cannot overwrite the new holder's decisions.
   */
  async merge(updates: Map<string, StateUpdate>, snapshot?: StateSnapshot, fence?: number): Promise<void> {
    const byShard = new Map<string, [string, StateUpdate][]>();
    for (const [id, update] of updates) {
      const shard = shardOf(id);
      const list = byShard.get(shard) ?? [];
      list.push([id, update]);
      byShard.set(shard, list);
    }
    await mapLimit([...byShard], this.#concurrency, ([shard, list]) =>
      this.#mergeShard(shard, list, snapshot?.shards.get(shard), fence),
    );
  }

  async #readShard(shard: string): Promise<LoadedShard> {
    const got = await getJson<ProductStateShard>(this.#s3, this.#bucket, shardKey(this.#prefix, shard));
    if (!got) return { etag: null, shard: emptyShard() };
    if (got.value.v !== 1 || typeof got.value.products !== 'object') {
      throw new StateConflictError(`state shard ${shard} has an unknown format (v=${String(got.value.v)})`);
    }
    return { etag: got.etag, shard: got.value };
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
            v: 1,
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
