import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mapLimit } from '../../src/shared/map-limit.ts';
import { DynamoStateStore } from '../../src/state/dynamo-state-store.ts';
import { shardKey, shardOf } from '../../src/contract/layout.ts';
import { STATE_FORMAT, type ProductStateEntry } from '../../src/contract/product-state.ts';
import { S3StateStore, type ProductStateStore } from '../../src/state/product-state-store.ts';

/**
 * The state a bench flush finds: product ids and entries of a realistic size, written into the S3 store
 * (every shard, in today's format) or the DynamoDB store (one item per product).
 */

const T0 = Date.UTC(2026, 10, 25, 12);

export function entryFor(id: string, i: number): ProductStateEntry {
  // The size of a real entry: hash, stamp, file key, sequencer, manifest key, batch, last price/availability.
  return {
    contentHash: randomBytes(16).toString('hex'),
    sourceTime: T0 + (i % 3600) * 1000,
    sourceKey: `landing/2026/11/25/export-${i % 24}.csv`,
    sequencer: '0055AED6DCD90281E5',
    manifestKey: 'synced/manifests/2026-11-25T12/2026-11-25T12-00-00-000Z-abcdef.json',
    batchIndex: i % 200,
    decidedAt: T0 + (i % 3600) * 1000 + 500,
    lastPrice: `${(i % 100) + 0.99} USD`,
    lastAvailability: 'in stock',
  };
}

export const idOf = (i: number) => `SKU-${String(i).padStart(7, '0')}`;

/** Picks `changed` distinct products of a catalog of `catalog`, spread over it (every shard is hit). */
export function changedIds(catalog: number, changed: number): string[] {
  const step = catalog / changed;
  return Array.from({ length: changed }, (_, k) => idOf(Math.floor(k * step)));
}

/**
 * The products the DynamoDB table is seeded with: the `changed` ones plus others spread over the catalog,
 * `sample` in all (a flush touches only the keys it asks for, so the rest cannot change its cost).
 */
export function dynamoSeedIds(catalog: number, changed: readonly string[], sample: number): string[] {
  const seen = new Set(changed);
  const others: string[] = [];
  for (let i = 0; others.length < sample - changed.length && i < catalog; i++) {
    const id = idOf(Math.floor((i * catalog) / sample) % catalog);
    if (!seen.has(id)) {
      seen.add(id);
      others.push(id);
    }
  }
  return [...changed, ...others];
}

/** Writes all 256 shards as the S3 store would hold `catalog` products. */
export async function seedS3(s3: S3Client, bucket: string, prefix: string, catalog: number): Promise<void> {
  const shards = new Map<string, Record<string, ProductStateEntry>>();
  for (let i = 0; i < catalog; i++) {
    const id = idOf(i);
    const s = shardOf(id);
    let products = shards.get(s);
    if (!products) shards.set(s, (products = {}));
    products[id] = entryFor(id, i);
  }
  await mapLimit([...shards], 8, async ([s, products]) => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: shardKey(prefix, s),
        Body: JSON.stringify({ v: STATE_FORMAT, products, fence: 1 }),
        ContentType: 'application/json',
      }),
    );
  });
}

/** Writes one item per product, 25 a request, until DynamoDB has taken them all. */
export async function seedDynamo(db: DynamoDBClient, store: DynamoStateStore, ids: string[]): Promise<void> {
  const puts: WriteRequest[] = ids.map((id, i) => ({
    PutRequest: {
      Item: {
        pk: { S: store.productKey(id) },
        v: { N: String(STATE_FORMAT) },
        entry: { S: JSON.stringify(entryFor(id, i)) },
        revision: { N: '1' },
        fence: { N: '1' },
      },
    },
  }));
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < puts.length; i += 25) batches.push(puts.slice(i, i + 25));
  await mapLimit(batches, 8, async (batch) => {
    let left = batch;
    while (left.length > 0) {
      const res = await db.send(new BatchWriteItemCommand({ RequestItems: { [store.table]: left } }));
      left = res.UnprocessedItems?.[store.table] ?? [];
    }
  });
}

/** The store of `kind` under test, seeded for a catalog of `catalog` (DynamoDB: a sample of it). */
export async function seededStore(options: {
  kind: 's3' | 'dynamodb';
  catalog: number;
  changed: readonly string[];
  ddbSample: number;
  /** The clients the store reads and writes through (the counting ones). */
  measured: { s3: S3Client; dynamodb: DynamoDBClient };
  /** The clients seeding writes through, so seeding is not counted. */
  admin: { s3: S3Client; dynamodb: DynamoDBClient };
  bucket: string;
  table: string;
  prefix: string;
}): Promise<{ store: ProductStateStore; seeded: number }> {
  const { kind, catalog, changed, measured, admin, bucket, prefix } = options;
  const s3Store = new S3StateStore({ s3: measured.s3, bucket, syncedPrefix: prefix });
  if (kind === 's3') {
    await seedS3(admin.s3, bucket, prefix, catalog);
    return { store: s3Store, seeded: catalog };
  }
  const ddb = new DynamoStateStore({
    dynamodb: measured.dynamodb,
    table: options.table,
    syncedPrefix: prefix,
    legacy: s3Store,
  });
  const ids = dynamoSeedIds(catalog, changed, Math.min(catalog, options.ddbSample));
  await seedDynamo(admin.dynamodb, ddb, ids);
  // As after a migration: the scope is marked, so no product is looked up in S3.
  await ddb.migrate();
  return { store: ddb, seeded: ids.length };
}
