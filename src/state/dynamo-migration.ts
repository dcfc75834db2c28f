import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mapLimit } from '../shared/map-limit.ts';
import { putProduct, scopeKey } from './dynamo-items.ts';
import { TRANSACT_WRITE_MAX, batchGet, chunk, transact, type DynamoRequestDeps } from './dynamo-requests.ts';
import { StateConflictError, type S3StateStore } from './product-state-store.ts';

/**
 * Moving a scope's product state from its S3 shards into the DynamoDB table. Until the scope item says
 * `migrated`, the store looks products the table does not hold up in the shards (`legacy`). `copy()`
 * copies every shard in and marks the scope; a scope with no shard at all is marked on first use (one
 * LIST). Switching an existing deployment from STATE_STORE=s3 must not overlap tasks of both kinds: stop
 * the S3 tasks, start the DynamoDB ones (docs in bench/results/latest.md).
 */
export class ScopeMigration {
  readonly legacy: S3StateStore;
  readonly #requests: DynamoRequestDeps;
  readonly #prefix: string;
  readonly #concurrency: number;
  /** Once the scope is known migrated it stays so: no more legacy look-ups. */
  #migrated = false;

  constructor(legacy: S3StateStore, requests: DynamoRequestDeps, syncedPrefix: string, concurrency: number) {
    this.legacy = legacy;
    this.#requests = requests;
    this.#prefix = syncedPrefix;
    this.#concurrency = concurrency;
  }

  /** True once the scope is known migrated (no read needed to know it). */
  get done(): boolean {
    return this.#migrated;
  }

  /**
   * Whether the scope's S3 shards need no more look-ups; marks a scope with no shard at all. `scope` is
   * the scope item when it was read already (null: read and not found; undefined: not read).
   */
  async knownMigrated(scope: Record<string, AttributeValue> | null | undefined): Promise<boolean> {
    if (this.#migrated) return true;
    let item = scope;
    if (item === undefined) item = (await batchGet(this.#requests, [scopeKey(this.#prefix)]))[0] ?? null;
    if (item?.migrated?.S) return (this.#migrated = true);
    if (await this.legacy.isEmpty()) {
      await this.#markMigrated('no S3 state');
      return true;
    }
    return false;
  }

  /**
   * Copies today's S3 shards into the table (an item that exists already is newer and is kept), then marks
   * the scope migrated: from then on no product is looked up in S3. Safe to run while workers run, and
   * twice. Returns how many products were copied.
   */
  async copy(progress: (line: string) => void): Promise<{ copied: number; kept: number }> {
    const { table, maxAttempts, sleep } = this.#requests;
    let copied = 0;
    let kept = 0;
    for await (const [shard, doc] of this.legacy.shards()) {
      const entries = Object.entries(doc.products);
      const fence = doc.fence && doc.fence > 0 ? doc.fence : undefined;
      await mapLimit(chunk(entries, TRANSACT_WRITE_MAX), this.#concurrency, async (group) => {
        let todo = group;
        for (let attempt = 1; todo.length > 0; attempt++) {
          const outcome = await transact(
            this.#requests,
            todo.map(([id, entry]) => putProduct(table, this.#prefix, id, entry, null, fence)),
          );
          if (outcome === 'ok') {
            copied += todo.length;
            return;
          }
          if (attempt >= maxAttempts)
            throw new StateConflictError(`migrating shard ${shard} kept conflicting`);
          if (outcome === 'retry') await sleep(Math.min(1000, 20 * 2 ** attempt));
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

  async #markMigrated(how: string): Promise<void> {
    await this.#requests.db.send(
      new UpdateItemCommand({
        TableName: this.#requests.table,
        Key: { pk: { S: scopeKey(this.#prefix) } },
        UpdateExpression: 'SET migrated = :m',
        ExpressionAttributeValues: { ':m': { S: `${new Date().toISOString()} ${how}` } },
      }),
    );
    this.#migrated = true;
  }
}
