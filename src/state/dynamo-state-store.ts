import type { ProductStateEntry } from '../contract/product-state.ts';
import { sleep } from '../shared/backoff.ts';
import {
  BatchGetItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { mapLimit } from '../shared/map-limit.ts';
import { LeaseLostError } from './catalog-lease.ts';
import {
  StateConflictError,
  type ProductStateStore,
  type S3StateStore,
  type StateSnapshot,
} from './product-state-store.ts';
import { mergeEntry, type StateUpdate } from './send-gate.ts';

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
 * - Fencing, at two levels: each item keeps the highest lease token that wrote it (`f`), and a merge with
 *   a lower token that finds such an item throws LeaseLostError, as a shard does today. A fenced merge also
 *   first raises the scope's catalog-wide fence (one UpdateItem, conditional on it not being higher), so a
 *   holder that lost its lease is refused even for products the new holder has not touched yet.
 *
 * Items (table key `pk`, string):
 *   product  pk = `<len>:<syncedPrefix><id>`  e = entry JSON (kept as stored, extra fields included),
 *            n = version counter, f = highest fencing token that wrote it (absent = none)
 *   scope    pk = `<len>!<syncedPrefix>`      f = catalog-wide fence, migrated = when the S3 shards of this
 *            scope were copied in (or found empty)
 * The length prefix makes keys of different scopes and ids unambiguous; `!` keeps the scope item apart.
 *
 * Today's S3 shards: until the scope is marked migrated, a product the table does not hold is looked up
 * in its S3 shard (the shard's fence applies to it), and its first write here is conditional on the item
 * not existing. `migrate()` copies every shard in and marks the scope; a scope with no shard at all is
 * marked on first use (one LIST). Switching an existing deployment from STATE_STORE=s3 must not overlap
 * tasks of both kinds: stop the S3 tasks, start the DynamoDB ones (docs in bench/results/latest.md).
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

/** One product as read: its entry, the item's version (0 = not in the table) and fence. */
interface Loaded {
  entry: ProductStateEntry;
  n: number;
  f: number;
}

export const BATCH_GET_MAX = 100;
/** Cancellation codes that only mean "not now": the same writes go again after a pause. */
const RETRYABLE_CANCELLATION = new Set([
  'None',
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);
export const TRANSACT_WRITE_MAX = 100;

export class DynamoStateSnapshot implements StateSnapshot {
  readonly items: Map<string, Loaded>;
  /** Ids read and found nowhere (so their first write is conditional on absence). */
  readonly absent: Set<string>;
  constructor(items: Map<string, Loaded>, absent: Set<string>) {
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
  readonly #legacy: S3StateStore | undefined;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Once the scope is known migrated it stays so: no more legacy look-ups. */
  #migrated = false;
  /**
   * The version of each product this process last read or wrote (most recent last, at most `recentMax`).
   * A merge without a snapshot (the settle after a batch is final) writes over it instead of reading
   * first; the write is conditional on that version, so a stale one only costs a re-read, never an update.
   * Reads (the gate's decisions) always go to the table.
   */
  readonly #recent = new Map<string, Loaded>();
  readonly #recentMax: number;

  constructor(o: DynamoStateStoreOptions) {
    this.#db = o.dynamodb;
    this.#table = o.table;
    this.#prefix = o.syncedPrefix;
    this.#legacy = o.legacy;
    this.#concurrency = o.concurrency ?? 16;
    this.#maxAttempts = o.maxAttempts ?? 30;
    this.#sleep = o.sleep ?? ((ms: number) => sleep(ms));
    this.#recentMax = o.recentMax ?? 20_000;
  }

  get table(): string {
    return this.#table;
  }

  productKey(id: string): string {
    return `${this.#prefix.length}:${this.#prefix}${id}`;
  }

  get scopeKey(): string {
    return `${this.#prefix.length}!${this.#prefix}`;
  }

  async read(ids: Iterable<string>): Promise<DynamoStateSnapshot> {
    const unique = [...new Set(ids)];
    const items = new Map<string, Loaded>();
    const absent = new Set<string>();
    // The scope item rides along (until it says migrated) in the first request when it has room.
    const askScope = !this.#migrated && this.#legacy !== undefined;
    const keys = unique.map((id) => this.productKey(id));
    if (askScope) keys.push(this.scopeKey);
    const byKey = new Map(unique.map((id) => [this.productKey(id), id]));
    let scope: Record<string, AttributeValue> | undefined;
    const chunks = chunk(keys, BATCH_GET_MAX);
    await mapLimit(chunks, this.#concurrency, async (ks) => {
      for (const item of await this.#batchGet(ks)) {
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
    if (misses.length > 0 && askScope && !(await this.#knownMigrated(scope ?? null))) {
      for (const [id, got] of await this.#legacy!.readWithFence(misses)) {
        items.set(id, { entry: got.entry, n: 0, f: got.fence });
      }
    }
    for (const id of unique) if (!items.has(id)) absent.add(id);
    return new DynamoStateSnapshot(items, absent);
  }

  async merge(updates: Map<string, StateUpdate>, snapshot?: StateSnapshot, fence?: number): Promise<void> {
    if (updates.size === 0) return;
    if (fence !== undefined) await this.#raiseScopeFence(fence);
    const known = snapshot instanceof DynamoStateSnapshot ? snapshot : undefined;
    const current = new Map<string, Loaded | null>();
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
      const writes: { id: string; write: TransactWriteItem; next: Loaded }[] = [];
      for (const id of pending) {
        const cur = current.get(id) ?? null;
        if (fence !== undefined && cur && cur.f > fence) {
          throw new LeaseLostError(
            `product ${id} was written under lease token ${cur.f}; ours is ${fence} (table ${this.#table})`,
          );
        }
        const next = mergeEntry(cur?.entry, updates.get(id)!);
        if (next) {
          const written = { entry: next, n: (cur?.n ?? 0) + 1, f: Math.max(cur?.f ?? 0, fence ?? 0) };
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
        const outcome = await this.#transact(group.map((w) => w.write));
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
    const prefix = `${this.#prefix.length}:${this.#prefix}`;
    const seen = new Set<string>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await this.#db.send(
        new ScanCommand({
          TableName: this.#table,
          ConsistentRead: true,
          FilterExpression: 'begins_with(pk, :p)',
          ExpressionAttributeValues: { ':p': { S: prefix } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const id = (item.pk?.S ?? '').slice(prefix.length);
        seen.add(id);
        yield [id, loadedOf(item).entry];
      }
      start = res.LastEvaluatedKey;
    } while (start);
    if (this.#legacy && !(await this.#knownMigrated(undefined))) {
      for await (const [id, entry] of this.#legacy.entries()) if (!seen.has(id)) yield [id, entry];
    }
  }

  /**
   * Copies today's S3 shards into the table (an item that exists already is newer and is kept), then marks
   * the scope migrated: from then on no product is looked up in S3. Safe to run while workers run, and
   * twice. Returns how many products were copied.
   */
  async migrate(progress: (line: string) => void = () => {}): Promise<{ copied: number; kept: number }> {
    if (!this.#legacy) throw new Error('no S3 state to migrate from (no legacy store configured)');
    let copied = 0;
    let kept = 0;
    for await (const [shard, doc] of this.#legacy.shards()) {
      const entries = Object.entries(doc.products);
      await mapLimit(chunk(entries, TRANSACT_WRITE_MAX), this.#concurrency, async (group) => {
        let todo = group;
        for (let attempt = 1; todo.length > 0; attempt++) {
          const outcome = await this.#transact(
            todo.map(([id, entry]) =>
              this.#put(id, entry, null, doc.fence && doc.fence > 0 ? doc.fence : undefined),
            ),
          );
          if (outcome === 'ok') {
            copied += todo.length;
            return;
          }
          if (attempt >= this.#maxAttempts)
            throw new StateConflictError(`migrating shard ${shard} kept conflicting`);
          if (outcome === 'retry') await this.#sleep(Math.min(1000, 20 * 2 ** attempt));
          else {
            kept += outcome.filter((c) => c === 'ConditionalCheckFailed').length;
            todo = todo.filter((_, i) => outcome[i] !== 'ConditionalCheckFailed');
          }
        }
      });
      progress(`shard ${shard}: ${entries.length} products`);
    }
    await this.#markMigrated('copied from S3');
    return { copied, kept };
  }

  // ── internals ──

  #remember(id: string, loaded: Loaded): void {
    if (loaded.n === 0) return; // only in an S3 shard: its first write here is conditional on absence
    this.#recent.delete(id);
    this.#recent.set(id, loaded);
    if (this.#recent.size > this.#recentMax) this.#recent.delete(this.#recent.keys().next().value!);
  }

  async #load(ids: string[], into: Map<string, Loaded | null>): Promise<void> {
    const snap = await this.read(ids);
    for (const id of ids) into.set(id, snap.items.get(id) ?? null);
  }

  #put(
    id: string,
    entry: ProductStateEntry,
    cur: Loaded | null,
    fence: number | undefined,
  ): TransactWriteItem {
    const f = Math.max(cur?.f ?? 0, fence ?? 0);
    const item: Record<string, AttributeValue> = {
      pk: { S: this.productKey(id) },
      e: { S: JSON.stringify(entry) },
      n: { N: String((cur?.n ?? 0) + 1) },
      ...(f > 0 ? { f: { N: String(f) } } : {}),
    };
    // Written over exactly what was read: the version read, or no item (also for an S3 shard's entry).
    return {
      Put: {
        TableName: this.#table,
        Item: item,
        ...(cur && cur.n > 0
          ? { ConditionExpression: 'n = :n', ExpressionAttributeValues: { ':n': { N: String(cur.n) } } }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      },
    };
  }

  /**
   * 'ok'; 'retry' (another transaction on the same items, or throttling: same writes again after a
   * pause); or each item's cancellation code when a condition failed.
   */
  async #transact(items: TransactWriteItem[]): Promise<'ok' | 'retry' | string[]> {
    try {
      await this.#db.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return 'ok';
    } catch (err) {
      const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
      if (e.name === 'TransactionConflictException' || e.name === 'TransactionInProgressException')
        return 'retry';
      if (e.name !== 'TransactionCanceledException') throw err;
      const codes = items.map((_, i) => e.CancellationReasons?.[i]?.Code ?? 'None');
      if (codes.includes('ConditionalCheckFailed')) return codes;
      if (codes.every((c) => RETRYABLE_CANCELLATION.has(c))) return 'retry';
      throw err;
    }
  }

  async #batchGet(keys: string[]): Promise<Record<string, AttributeValue>[]> {
    const out: Record<string, AttributeValue>[] = [];
    let request: Record<string, AttributeValue>[] = keys.map((k) => ({ pk: { S: k } }));
    for (let attempt = 1; request.length > 0; attempt++) {
      const res = await this.#db.send(
        new BatchGetItemCommand({
          RequestItems: { [this.#table]: { Keys: request, ConsistentRead: true } },
        }),
      );
      out.push(...(res.Responses?.[this.#table] ?? []));
      request = res.UnprocessedKeys?.[this.#table]?.Keys ?? [];
      if (request.length > 0) {
        if (attempt >= this.#maxAttempts)
          throw new StateConflictError('BatchGetItem kept leaving keys unprocessed');
        await this.#sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
    return out;
  }

  async #raiseScopeFence(fence: number): Promise<void> {
    try {
      await this.#db.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: this.scopeKey } },
          UpdateExpression: 'SET f = :t',
          ConditionExpression: 'attribute_not_exists(f) OR f <= :t',
          ExpressionAttributeValues: { ':t': { N: String(fence) } },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      throw new LeaseLostError(
        `product state ${this.#prefix} (table ${this.#table}) was written under a higher lease token; ours is ${fence}`,
      );
    }
  }

  /**
   * Whether the scope's S3 shards need no more look-ups; marks a scope with no shard at all. `scope` is
   * the scope item when it was read already (null: read and not found; undefined: not read).
   */
  async #knownMigrated(scope: Record<string, AttributeValue> | null | undefined): Promise<boolean> {
    if (this.#migrated) return true;
    let item = scope;
    if (item === undefined) item = (await this.#batchGet([this.scopeKey]))[0] ?? null;
    if (item?.migrated?.S) return (this.#migrated = true);
    if (await this.#legacy!.isEmpty()) {
      await this.#markMigrated('no S3 state');
      return true;
    }
    return false;
  }

  async #markMigrated(how: string): Promise<void> {
    await this.#db.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: { pk: { S: this.scopeKey } },
        UpdateExpression: 'SET migrated = :m',
        ExpressionAttributeValues: { ':m': { S: `${new Date().toISOString()} ${how}` } },
      }),
    );
    this.#migrated = true;
  }
}

function loadedOf(item: Record<string, AttributeValue>): Loaded {
  return {
    entry: JSON.parse(item.e?.S ?? '{}') as ProductStateEntry,
    n: Number(item.n?.N ?? 0),
    f: Number(item.f?.N ?? 0),
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
