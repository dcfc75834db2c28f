import type { AttributeValue, DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { assertEntryFields, type ProductStateEntry } from '../contract/product-state.ts';
import { sleep } from '../shared/backoff.ts';
import { mapLimit } from '../shared/map-limit.ts';
import { LeaseLostError } from './catalog-lease.ts';
import {
  loadedOf,
  productKey,
  productKeyPrefix,
  putProduct,
  scopeKey,
  type LoadedItem,
} from './dynamo-items.ts';
import {
  BATCH_GET_MAX,
  TRANSACT_WRITE_MAX,
  batchGet,
  chunk,
  raiseFence,
  scanProducts,
  transact,
  type DynamoRequestDeps,
} from './dynamo-requests.ts';
import {
  StateConflictError,
  type ProductStateStore,
  type S3StateStore,
  type StateSnapshot,
} from './product-state-store.ts';
import { mergeEntry, type StateUpdate } from './send-gate.ts';
import { ScopeMigration } from './dynamo-migration.ts';

/**
 * The product state in DynamoDB: one item per product, so a flush reads and writes only the products it
 * is about (requests and bytes proportional to the change, whatever the catalog's size). Same contract
 * as the S3 shards (product-state-store.ts):
 *
 * - `read(ids)`: BatchGetItem, 100 keys a request, strongly consistent (the gate decides on it under the
 *   lease, as on S3's read-after-write).
 * - `merge(updates, snapshot?, fence?)`: `mergeEntry` per product, written with TransactWriteItems, 100
 *   items a request, each Put conditional on the item's version counter as read (or on its absence). A
 *   transaction that loses a race is cancelled whole; its products are re-read and re-merged (the others
 *   of that transaction simply go again), up to `maxAttempts`.
 * - Fencing, at two levels: each item keeps the highest lease token that wrote it (`fence`), and a merge with
 *   a lower token that finds such an item throws LeaseLostError, as a shard does today. A fenced merge also
 *   first raises the scope's catalog-wide fence (one UpdateItem, conditional on it not being higher), so a
 *   holder that lost its lease is refused even for products the new holder has not touched yet.
 *
 * Items and their formats: dynamo-items.ts; the requests and their retries: dynamo-requests.ts.
 *
 * Today's S3 shards: until the scope is marked migrated, a product the table does not hold is looked up
 * in its S3 shard (the shard's fence applies to it), and its first write here is conditional on the item
 * not existing (dynamo-migration.ts).
 */

export interface DynamoStateStoreOptions {
  dynamodb: DynamoDBClient;
  /**
   * The table's ARN (or name; DynamoDB takes either). Give the ARN: moto, which serves the sandbox and
   * the tests, deep-copies the whole table for every item of a transaction that names it (to roll back),
   * which makes a 100-item write cost 100 × the table; by ARN it skips that copy. Nothing here relies on
   * a transaction being all-or-nothing (each item is conditional on its own), so moto not rolling back a
   * cancelled transaction changes no outcome: its items come round again and find themselves written.
   */
  table: string;
  syncedPrefix: string;
  /** Today's S3 store of the same prefix, read for products the table does not hold yet. */
  legacy?: S3StateStore | undefined;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Attempts per product when writers race (30: a transaction of 100 items loses to any writer of one of them, with jittered waits between). */
  maxAttempts?: number;
  /** Products whose last version this process read or wrote, kept for merges without a snapshot. */
  recentMax?: number;
  /** Waits between retries of unprocessed keys and transaction conflicts. */
  sleep?: (ms: number) => Promise<void>;
}

export class DynamoStateSnapshot implements StateSnapshot {
  readonly items: Map<string, LoadedItem>;
  /** Ids read and found nowhere (so their first write is conditional on absence). */
  readonly absent: Set<string>;
  constructor(items: Map<string, LoadedItem>, absent: Set<string>) {
    this.items = items;
    this.absent = absent;
  }
  get(id: string): ProductStateEntry | undefined {
    return this.items.get(id)?.entry;
  }
}

export class DynamoStateStore implements ProductStateStore {
  readonly #db: DynamoDBClient;
  readonly #table: string;
  readonly #prefix: string;
  /** Present while products may still be only in the S3 shards of the same prefix. */
  readonly #migration: ScopeMigration | undefined;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #requests: DynamoRequestDeps;
  /**
   * The version of each product this process last read or wrote (most recent last, at most `recentMax`).
   * A merge without a snapshot (the settle after a batch is final) writes over it instead of reading
   * first; the write is conditional on that version, so a stale one only costs a re-read, never an update.
   * Reads (the gate's decisions) always go to the table.
   */
  readonly #recent = new Map<string, LoadedItem>();
  readonly #recentMax: number;

  constructor(o: DynamoStateStoreOptions) {
    this.#db = o.dynamodb;
    this.#table = o.table;
    this.#prefix = o.syncedPrefix;
    this.#concurrency = o.concurrency ?? 16;
    this.#maxAttempts = o.maxAttempts ?? 30;
    this.#sleep = o.sleep ?? ((ms: number) => sleep(ms));
    this.#recentMax = o.recentMax ?? 20_000;
    this.#requests = { db: o.dynamodb, table: o.table, maxAttempts: this.#maxAttempts, sleep: this.#sleep };
    this.#migration =
      o.legacy && new ScopeMigration(o.legacy, this.#requests, o.syncedPrefix, this.#concurrency);
  }

  get table(): string {
    return this.#table;
  }

  productKey(id: string): string {
    return productKey(this.#prefix, id);
  }

  get scopeKey(): string {
    return scopeKey(this.#prefix);
  }

  async read(ids: Iterable<string>): Promise<DynamoStateSnapshot> {
    const unique = [...new Set(ids)];
    const items = new Map<string, LoadedItem>();
    const absent = new Set<string>();
    // The scope item rides along (until it says migrated) in the first request when it has room.
    const askScope = this.#migration !== undefined && !this.#migration.done;
    const keys = unique.map((id) => this.productKey(id));
    if (askScope) keys.push(this.scopeKey);
    const byKey = new Map(unique.map((id) => [this.productKey(id), id]));
    let scope: Record<string, AttributeValue> | undefined;
    const chunks = chunk(keys, BATCH_GET_MAX);
    await mapLimit(chunks, this.#concurrency, async (ks) => {
      for (const item of await batchGet(this.#requests, ks)) {
        const pk = item.pk?.S ?? '';
        if (pk === this.scopeKey) {
          scope = item;
          continue;
        }
        const id = byKey.get(pk);
        if (id !== undefined) {
          const loaded = loadedOf(item);
          items.set(id, loaded);
          this.#remember(id, loaded);
        }
      }
    });
    const misses = unique.filter((id) => !items.has(id));
    if (misses.length > 0 && askScope && !(await this.#migration!.knownMigrated(scope ?? null))) {
      for (const [id, got] of await this.#migration!.legacy.readWithFence(misses)) {
        items.set(id, { entry: got.entry, revision: 0, fence: got.fence, format: 2 });
      }
    }
    for (const id of unique) if (!items.has(id)) absent.add(id);
    return new DynamoStateSnapshot(items, absent);
  }

  async merge(updates: Map<string, StateUpdate>, snapshot?: StateSnapshot, fence?: number): Promise<void> {
    if (updates.size === 0) return;
    if (fence !== undefined) await this.#raiseScopeFence(fence);
    const known = snapshot instanceof DynamoStateSnapshot ? snapshot : undefined;
    const current = new Map<string, LoadedItem | null>();
    const unread: string[] = [];
    for (const id of updates.keys()) {
      const got = known?.items.get(id) ?? (known ? undefined : this.#recent.get(id));
      if (got) current.set(id, got);
      else if (known?.absent.has(id)) current.set(id, null);
      else unread.push(id);
    }
    if (unread.length > 0) await this.#load(unread, current);

    let pending = [...updates.keys()];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const writes: { id: string; write: TransactWriteItem; next: LoadedItem }[] = [];
      for (const id of pending) {
        const cur = current.get(id) ?? null;
        if (fence !== undefined && cur && cur.fence > fence) {
          throw new LeaseLostError(
            `product ${id} was written under lease token ${cur.fence}; ours is ${fence} (table ${this.#table})`,
          );
        }
        const next = mergeEntry(cur?.entry, updates.get(id)!);
        if (next) {
          assertEntryFields(id, next);
          const written: LoadedItem = {
            entry: next,
            revision: (cur?.revision ?? 0) + 1,
            fence: Math.max(cur?.fence ?? 0, fence ?? 0),
            format: 2,
          };
          writes.push({ id, write: this.#put(id, next, cur, fence), next: written });
        }
      }
      // lost: its condition failed (re-read); again: cancelled with it, or contended (same read, go again).
      const lost: string[] = [];
      const again: string[] = [];
      let contended = false;
      // A transaction loses to a writer of any one of its items: after each lost round the groups halve,
      // down to one item each, so contended products still make progress one by one.
      const groupSize = Math.max(1, TRANSACT_WRITE_MAX >> (attempt - 1));
      await mapLimit(chunk(writes, groupSize), this.#concurrency, async (group) => {
        const outcome = await transact(
          this.#requests,
          group.map((w) => w.write),
        );
        if (outcome === 'ok') {
          for (const w of group) this.#remember(w.id, w.next);
          return;
        }
        if (outcome === 'retry') contended = true;
        group.forEach((w, i) =>
          (outcome !== 'retry' && outcome[i] === 'ConditionalCheckFailed' ? lost : again).push(w.id),
        );
      });
      if (lost.length === 0 && again.length === 0) return;
      if (attempt >= this.#maxAttempts) {
        throw new StateConflictError(
          `product state writes kept losing races after ${attempt} attempts (e.g. ${lost[0] ?? again[0]})`,
        );
      }
      // The losers are read again: a newer entry, or a higher fence, decides on the next round.
      if (lost.length > 0) await this.#load(lost, current);
      // Writers that lost together must not retry in lock-step: full jitter on every retry.
      await this.#sleep(Math.round(Math.random() * Math.min(1000, (contended ? 20 : 10) * 2 ** attempt)));
      pending = [...lost, ...again];
    }
  }

  /** Every product of this scope (a Scan of the whole table, filtered), then those only the S3 shards hold. */
  async *entries(): AsyncIterable<[string, ProductStateEntry]> {
    const seen = new Set<string>();
    for await (const [id, item] of scanProducts(this.#db, this.#table, productKeyPrefix(this.#prefix))) {
      seen.add(id);
      yield [id, loadedOf(item).entry];
    }
    if (this.#migration && !(await this.#migration.knownMigrated(undefined))) {
      for await (const [id, entry] of this.#migration.legacy.entries()) if (!seen.has(id)) yield [id, entry];
    }
  }

  /** Copies today's S3 shards into the table and marks the scope migrated (dynamo-migration.ts). */
  async migrate(progress: (line: string) => void = () => {}): Promise<{ copied: number; kept: number }> {
    if (!this.#migration) throw new Error('no S3 state to migrate from (no legacy store configured)');
    return this.#migration.copy(progress);
  }

  // ── internals ──

  #remember(id: string, loaded: LoadedItem): void {
    if (loaded.revision === 0) return; // only in an S3 shard: its first write here is conditional on absence
    this.#recent.delete(id);
    this.#recent.set(id, loaded);
    if (this.#recent.size > this.#recentMax) this.#recent.delete(this.#recent.keys().next().value!);
  }

  async #load(ids: string[], into: Map<string, LoadedItem | null>): Promise<void> {
    const snap = await this.read(ids);
    for (const id of ids) into.set(id, snap.items.get(id) ?? null);
  }

  #put(
    id: string,
    entry: ProductStateEntry,
    cur: LoadedItem | null,
    fence: number | undefined,
  ): TransactWriteItem {
    return putProduct(this.#table, this.#prefix, id, entry, cur, fence);
  }

  async #raiseScopeFence(fence: number): Promise<void> {
    if (!(await raiseFence(this.#db, this.#table, this.scopeKey, fence))) {
      throw new LeaseLostError(
        `product state ${this.#prefix} (table ${this.#table}) was written under a higher lease token; ours is ${fence}`,
      );
    }
  }
}
