import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoStateStore } from './dynamo-state-store.ts';
import { S3StateStore, type ProductStateStore } from './product-state-store.ts';

/**
 * Builds the product state store STATE_STORE names:
 * - `s3`: the 256 shards under <synced>/<prefix>state/ (product-state-store.ts). Each flush reads and
 *   writes every shard its products fall in, so its cost grows with the catalog.
 * - `dynamodb`: one item per product in STATE_TABLE (dynamo-state-store.ts), cost proportional to the
 *   products a flush is about; the S3 shards of the same prefix are read for products it does not hold
 *   yet, until they are migrated.
 */

export const STATE_STORE_KINDS = ['s3', 'dynamodb'] as const;
export type StateStoreKind = (typeof STATE_STORE_KINDS)[number];

export interface StateStoreConfig {
  stateStore: StateStoreKind;
  stateTable: string | undefined;
  syncedBucket: string;
  syncedPrefix: string;
  awsRegion?: string;
}

export interface StateStoreClients {
  s3: S3Client;
  /** Built from the region (and AWS_ENDPOINT_URL, read by the SDK) when not given. */
  dynamodb?: DynamoDBClient | undefined;
}

export function createStateStore(c: StateStoreConfig, clients: StateStoreClients): ProductStateStore {
  const s3Store = new S3StateStore({ s3: clients.s3, bucket: c.syncedBucket, syncedPrefix: c.syncedPrefix });
  if (c.stateStore === 's3') return s3Store;
  if (!c.stateTable)
    throw new Error('STATE_STORE=dynamodb needs STATE_TABLE (the storage stack output StateTableArn)');
  return new DynamoStateStore({
    dynamodb: clients.dynamodb ?? new DynamoDBClient(c.awsRegion ? { region: c.awsRegion } : {}),
    table: c.stateTable,
    syncedPrefix: c.syncedPrefix,
    legacy: s3Store,
  });
}
