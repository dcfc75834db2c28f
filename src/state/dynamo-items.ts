import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { STATE_FORMAT, readEntry, type ProductStateEntry } from '../contract/product-state.ts';

/**
 * The DynamoDB items of the product state (table key `pk`, string):
 *
 *   product  pk = `<len>:<syncedPrefix><id>`
 *            v = 2 (the record format), entry = the entry JSON (src/contract/product-state.ts, kept as
 *            stored, extra fields included), revision = version counter (each write adds one),
 *            fence = highest lease fencing token that wrote it (absent = none)
 *   scope    pk = `<len>!<syncedPrefix>`
 *            fence = catalog-wide fence, migrated = when the S3 shards of this scope were copied in (or
 *            found empty)
 *
 * The length prefix makes keys of different scopes and ids unambiguous; `!` keeps the scope item apart.
 *
 * Format 1 items (no `v`) named the attributes `e`, `n` and `f` and stored the entry with one-letter
 * fields. They are read as format 2; a write over one is conditional on its `n` and replaces the whole
 * item with format 2. A scope item's old `f` is replaced by `fence` the next time it is raised.
 */

/** One product as read: its entry, the item's revision (0 = not in the table), fence and format. */
export interface LoadedItem {
  entry: ProductStateEntry;
  revision: number;
  fence: number;
  /** The stored format: a write over a format 1 item is conditional on its old counter attribute. */
  format: 1 | 2;
}

export function productKey(syncedPrefix: string, id: string): string {
  return `${productKeyPrefix(syncedPrefix)}${id}`;
}

/** What every product key of a scope starts with. */
export function productKeyPrefix(syncedPrefix: string): string {
  return `${syncedPrefix.length}:${syncedPrefix}`;
}

export function scopeKey(syncedPrefix: string): string {
  return `${syncedPrefix.length}!${syncedPrefix}`;
}

/** A stored product item, of either format, as today's entry and counters. */
export function loadedOf(item: Record<string, AttributeValue>): LoadedItem {
  const where = `product state item ${item.pk?.S ?? '?'}`;
  if (item.v?.N !== undefined) {
    const format = Number(item.v.N);
    return {
      entry: readEntry(JSON.parse(item.entry?.S ?? 'null'), format, where),
      revision: Number(item.revision?.N ?? 0),
      fence: Number(item.fence?.N ?? 0),
      format: STATE_FORMAT,
    };
  }
  return {
    entry: readEntry(JSON.parse(item.e?.S ?? 'null'), 1, where),
    revision: Number(item.n?.N ?? 0),
    fence: Number(item.f?.N ?? 0),
    format: 1,
  };
}

/**
 * The Put that writes `entry` over exactly what was read: the revision read (or, for an item not in the
 * table, also one only an S3 shard held, no item at all). The fence kept is the higher of the item's and
 * the writer's.
 */
export function putProduct(
  table: string,
  syncedPrefix: string,
  id: string,
  entry: ProductStateEntry,
  cur: LoadedItem | null,
  fence: number | undefined,
): TransactWriteItem {
  const kept = Math.max(cur?.fence ?? 0, fence ?? 0);
  const item: Record<string, AttributeValue> = {
    pk: { S: productKey(syncedPrefix, id) },
    v: { N: String(STATE_FORMAT) },
    entry: { S: JSON.stringify(entry) },
    revision: { N: String((cur?.revision ?? 0) + 1) },
    ...(kept > 0 ? { fence: { N: String(kept) } } : {}),
  };
  const counter = cur?.format === 1 ? 'n' : 'revision';
  return {
    Put: {
      TableName: table,
      Item: item,
      ...(cur && cur.revision > 0
        ? {
            ConditionExpression: '#counter = :read',
            ExpressionAttributeNames: { '#counter': counter },
            ExpressionAttributeValues: { ':read': { N: String(cur.revision) } },
          }
        : { ConditionExpression: 'attribute_not_exists(pk)' }),
    },
  };
}
