import {
  BatchGetItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { StateConflictError } from './product-state-store.ts';

/** The two DynamoDB requests the state store repeats, with their limits and retries. */

export const BATCH_GET_MAX = 100;
export const TRANSACT_WRITE_MAX = 100;

/** Cancellation codes that only mean "not now": the same writes go again after a pause. */
const RETRYABLE_CANCELLATION = new Set([
  'None',
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

export interface DynamoRequestDeps {
  db: DynamoDBClient;
  table: string;
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
}

/** The outcome of one transaction: see `transact`. */
export type TransactOutcome = 'ok' | 'retry' | string[];

/**
 * 'ok'; 'retry' (another transaction on the same items, or throttling: same writes again after a
 * pause); or each item's cancellation code when a condition failed.
 */
export async function transact(
  deps: DynamoRequestDeps,
  items: TransactWriteItem[],
): Promise<TransactOutcome> {
  try {
    await deps.db.send(new TransactWriteItemsCommand({ TransactItems: items }));
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

/** Strongly consistent BatchGetItem of up to BATCH_GET_MAX keys, unprocessed keys retried. */
export async function batchGet(
  deps: DynamoRequestDeps,
  keys: string[],
): Promise<Record<string, AttributeValue>[]> {
  const out: Record<string, AttributeValue>[] = [];
  let request: Record<string, AttributeValue>[] = keys.map((k) => ({ pk: { S: k } }));
  for (let attempt = 1; request.length > 0; attempt++) {
    const res = await deps.db.send(
      new BatchGetItemCommand({
        RequestItems: { [deps.table]: { Keys: request, ConsistentRead: true } },
      }),
    );
    out.push(...(res.Responses?.[deps.table] ?? []));
    request = res.UnprocessedKeys?.[deps.table]?.Keys ?? [];
    if (request.length > 0) {
      if (attempt >= deps.maxAttempts)
        throw new StateConflictError('BatchGetItem kept leaving keys unprocessed');
      await deps.sleep(Math.min(1000, 20 * 2 ** attempt));
    }
  }
  return out;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Every item whose key starts with `prefix`: a consistent Scan of the whole table, filtered, page by page. */
export async function* scanProducts(
  db: DynamoDBClient,
  table: string,
  prefix: string,
): AsyncIterable<[string, Record<string, AttributeValue>]> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const res = await db.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: prefix } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of res.Items ?? []) yield [(item.pk?.S ?? '').slice(prefix.length), item];
    start = res.LastEvaluatedKey;
  } while (start);
}

/**
 * Raises the scope item's catalog-wide fence to `fence`; false when it is higher already (a later lease
 * holder wrote). `f` is the attribute's name in format 1 scope items: it is checked too, and removed.
 */
export async function raiseFence(
  db: DynamoDBClient,
  table: string,
  key: string,
  fence: number,
): Promise<boolean> {
  try {
    await db.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET fence = :t REMOVE f',
        ConditionExpression:
          '(attribute_not_exists(fence) OR fence <= :t) AND (attribute_not_exists(f) OR f <= :t)',
        ExpressionAttributeValues: { ':t': { N: String(fence) } },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    return false;
  }
}
