import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startMoto } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { stateBenchRow, type StateBenchRow } from './state-store/bench-row.ts';
import { CountingHandler } from './state-store/counting-handler.ts';
import { measureFlush } from './state-store/measure.ts';
import { changedIds, seededStore } from './state-store/seed.ts';

/**
 * State I/O of one flush, per store and catalog size: what a flush of K changed products costs the
 * product state store, counted at the HTTP layer (every request and retry, the bytes of every request
 * body and response body; state-store/counting-handler.ts).
 *
 * One "flush" is what the worker does to the state for K products it sends (state-store/flush.ts).
 *
 * Seeding (state-store/seed.ts): the S3 store is seeded exactly as it would hold N products (all 256
 * shards, in today's format, every product in its shard). The DynamoDB store holds one item per product
 * and a flush only touches the K keys it asks for, so its cost cannot depend on the other items; the table
 * is seeded with the K touched products plus a sample of others (`ddbSample`, default min(N, 100,000)) —
 * the catalog size is the number of products the run says it stands for, and the figures show it makes
 * no difference.
 */

export type { StateBenchRow } from './state-store/bench-row.ts';

export async function benchStateStores(options: {
  catalogs: number[];
  changed: number;
  ddbSample?: number;
  log?: (line: string) => void;
}): Promise<StateBenchRow[]> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const moto = await startMoto();
  const rows: StateBenchRow[] = [];
  try {
    const stage = `st${randomBytes(2).toString('hex')}`;
    const admin = localClients(moto.endpoint);
    const { outputs } = await deployTemplate({
      clients: admin,
      stackName: `catalog-sync-${stage}`,
      parameters: { Stage: stage },
    });
    const handler = new CountingHandler();
    const common = {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: handler,
    };
    const measured = {
      s3: new S3Client({ ...common, forcePathStyle: true }),
      dynamodb: new DynamoDBClient(common),
    };
    const K = options.changed;

    for (const catalog of options.catalogs) {
      const changed = changedIds(catalog, K);
      for (const kind of ['s3', 'dynamodb'] as const) {
        const seedStart = Date.now();
        const { store, seeded } = await seededStore({
          kind,
          catalog,
          changed,
          ddbSample: options.ddbSample ?? 100_000,
          measured,
          admin,
          bucket: outputs.SyncedBucketName!,
          table: outputs.StateTableArn!,
          prefix: `synced/bench-${kind}-${catalog}/`,
        });
        log(
          `state ${kind} ${catalog}: seeded ${seeded} products in ${Math.round((Date.now() - seedStart) / 1000)} s`,
        );
        const flush = await measureFlush(store, changed, handler);
        const row = stateBenchRow({ kind, catalog, seeded, changed: K, ...flush });
        log(`state ${kind} ${catalog}: ${JSON.stringify(row)}`);
        rows.push(row);
      }
    }
  } finally {
    await moto.stop();
  }
  return rows;
}

// `node bench/state-store.ts [catalogs] [changed]`: this part alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const catalogs = (process.argv[2] ?? '5000,100000').split(',').map(Number);
  const changed = Number(process.argv[3] ?? 5000);
  const rows = await benchStateStores({ catalogs, changed });
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}
