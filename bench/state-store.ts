import { shardKey, shardOf } from '../src/contract/layout.ts';
import { STATE_FORMAT, type ProductStateEntry } from '../src/contract/product-state.ts';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpResponse } from '@smithy/types';
import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { startMoto } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { mapLimit } from '../src/shared/map-limit.ts';
import { DynamoStateStore } from '../src/state/dynamo-state-store.ts';
import { S3StateStore, type ProductStateStore } from '../src/state/product-state-store.ts';
import type { StateUpdate } from '../src/state/send-gate.ts';

/**
 * State I/O of one flush, per store and catalog size: what a flush of K changed products costs the
 * product state store, counted at the HTTP layer (every request and retry, the bytes of every request
 * body and response body).
 *
 * One "flush" is what the worker does to the state for K products it sends (src/worker/flush.ts and
 * status-poller.ts): read(K) for the gate, merge(K `decided`, snapshot, lease token) before items_batch,
 * merge(K `settled`) once the batch is final.
 *
 * Seeding: the S3 store is seeded exactly as it would hold N products (all 256 shards, in today's format,
 * every product in its shard). The DynamoDB store holds one item per product and a flush only touches
 * the K keys it asks for, so its cost cannot depend on the other items; the table is seeded with the K
 * touched products plus a sample of others (`ddbSample`, default min(N, 100,000)) — the catalog size is
 * the number of products the run says it stands for, and the figures show it makes no difference.
 */

export interface StateBenchRow extends Record<string, string | number | boolean> {
  store: string;
  catalog: number;
  seeded: number;
  changed: number;
  requests: number;
  reads: number;
  writes: number;
  otherRequests: number;
  readStep: number;
  decideStep: number;
  settleStep: number;
  perStepTarget: number;
  requestTargetMet: boolean;
  mbSent: number;
  mbReceived: number;
  mbMoved: number;
  seconds: number;
}

interface Meter {
  requests: Map<string, number>;
  sent: number;
  received: number;
}

function newMeter(): Meter {
  return { requests: new Map(), sent: 0, received: 0 };
}

function bodyBytes(body: unknown): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0; // streams are not used for state objects
}

/** An HTTP handler that counts every request (per operation) and the bytes of its body and response. */
class CountingHandler extends NodeHttpHandler {
  meter: Meter = newMeter();
  override async handle(
    request: Parameters<NodeHttpHandler['handle']>[0],
    options?: HttpHandlerOptions,
  ): Promise<{ response: HttpResponse }> {
    const m = this.meter;
    const target = String(request.headers['x-amz-target'] ?? '')
      .split('.')
      .pop();
    const op =
      target || `${request.method} ${request.query && 'list-type' in request.query ? 'LIST' : 'OBJECT'}`;
    m.requests.set(op, (m.requests.get(op) ?? 0) + 1);
    m.sent += bodyBytes(request.body);
    const res = await super.handle(request, options);
    const body = res.response.body as Readable | undefined;
    if (body && typeof body.pipe === 'function') {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          m.received += chunk.length;
          done(null, chunk);
        },
      });
      body.on('error', (err) => counter.destroy(err));
      res.response.body = body.pipe(counter);
    }
    return res;
  }
}

const T0 = Date.UTC(2026, 10, 25, 12);

function entryFor(id: string, i: number): ProductStateEntry & { p: string; a: string } {
  // The size of a real entry: hash, stamp, file key, sequencer, manifest key, batch, last price/availability.
  return {
    contentHash: randomBytes(16).toString('hex'),
    sourceTime: T0 + (i % 3600) * 1000,
    sourceKey: `landing/2026/11/25/export-${i % 24}.csv`,
    sequencer: '0055AED6DCD90281E5',
    manifestKey: 'synced/manifests/2026-11-25T12/2026-11-25T12-00-00-000Z-abcdef.json',
    batchIndex: i % 200,
    decidedAt: T0 + (i % 3600) * 1000 + 500,
    p: `${(i % 100) + 0.99} USD`,
    a: 'in stock',
  };
}

const idOf = (i: number) => `SKU-${String(i).padStart(7, '0')}`;

async function seedS3(s3: S3Client, bucket: string, prefix: string, catalog: number): Promise<void> {
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

async function seedDynamo(db: DynamoDBClient, store: DynamoStateStore, ids: string[]): Promise<void> {
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

/** The state I/O of one flush of `changed` products; `phase` is called after each of its three steps. */
async function flushOnce(
  store: ProductStateStore,
  changed: string[],
  token: number,
  phase: (name: 'read' | 'decide' | 'settle') => void,
): Promise<void> {
  const snapshot = await store.read(changed);
  phase('read');
  const at = Date.now();
  const decided = new Map<string, StateUpdate>(
    changed.map((id, i) => [
      id,
      {
        kind: 'decided',
        entry: {
          ...(snapshot.get(id) ?? entryFor(id, i)),
          contentHash: randomBytes(16).toString('hex'),
          sourceTime: at,
          sourceKey: 'landing/2026/11/25/bench.csv',
          manifestKey: 'synced/manifests/2026-11-25T13/bench.json',
          batchIndex: Math.floor(i / 5000),
          decidedAt: at,
          open: true,
        },
      },
    ]),
  );
  await store.merge(decided, snapshot, token);
  phase('decide');
  const settled = new Map<string, StateUpdate>(
    changed.map((id, i) => [
      id,
      {
        kind: 'settled',
        manifestKey: 'synced/manifests/2026-11-25T13/bench.json',
        batch: Math.floor(i / 5000),
        accepted: true,
      },
    ]),
  );
  await store.merge(settled);
  phase('settle');
}

/** Picks `changed` distinct products of a catalog of `catalog`, spread over it (every shard is hit). */
function changedIds(catalog: number, changed: number): string[] {
  const step = catalog / changed;
  return Array.from({ length: changed }, (_, k) => idOf(Math.floor(k * step)));
}

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
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    const db = new DynamoDBClient(common);
    const bucket = outputs.SyncedBucketName!;
    const table = outputs.StateTableArn!;
    const K = options.changed;

    for (const catalog of options.catalogs) {
      const changed = changedIds(catalog, K);
      for (const kind of ['s3', 'dynamodb'] as const) {
        const prefix = `synced/bench-${kind}-${catalog}/`;
        const s3Store = new S3StateStore({ s3, bucket, syncedPrefix: prefix });
        let store: ProductStateStore = s3Store;
        let seeded: number;
        const seedStart = Date.now();
        if (kind === 's3') {
          await seedS3(admin.s3, bucket, prefix, catalog);
          seeded = catalog;
        } else {
          const ddb = new DynamoStateStore({ dynamodb: db, table, syncedPrefix: prefix, legacy: s3Store });
          store = ddb;
          const sample = Math.min(catalog, options.ddbSample ?? 100_000);
          const seen = new Set(changed);
          const others: string[] = [];
          for (let i = 0; others.length < sample - changed.length && i < catalog; i++) {
            const id = idOf(Math.floor((i * catalog) / sample) % catalog);
            if (!seen.has(id)) {
              seen.add(id);
              others.push(id);
            }
          }
          await seedDynamo(admin.dynamodb, ddb, [...changed, ...others]);
          seeded = changed.length + others.length;
          // As after a migration: the scope is marked, so no product is looked up in S3.
          await ddb.migrate();
        }
        log(
          `state ${kind} ${catalog}: seeded ${seeded} products in ${Math.round((Date.now() - seedStart) / 1000)} s`,
        );
        handler.meter = newMeter();
        const t = Date.now();
        const perPhase: Record<string, number> = {};
        let before = 0;
        await flushOnce(store, changed, 2, (name) => {
          const total = [...handler.meter.requests.values()].reduce((a, b) => a + b, 0);
          perPhase[name] = total - before;
          before = total;
        });
        const seconds = (Date.now() - t) / 1000;
        const m = handler.meter;
        const count = (ops: string[]) => ops.reduce((a, op) => a + (m.requests.get(op) ?? 0), 0);
        const reads = kind === 's3' ? count(['GET OBJECT']) : count(['BatchGetItem']);
        const writes = kind === 's3' ? count(['PUT OBJECT']) : count(['TransactWriteItems']);
        const requests = [...m.requests.values()].reduce((a, b) => a + b, 0);
        // Each step (read, decide, settle) of K products: at most ceil(K / 100) requests (100 keys or items
        // a request) plus a constant (the scope's fence). The S3 store has no such bound: each step reads or
        // writes every shard the products fall in (all 256 for K = 5000), whatever their size.
        const perStepTarget = Math.ceil(K / 100) + 2;
        const mb = (b: number) => Math.round(b / 1e4) / 100;
        const row: StateBenchRow = {
          store: kind,
          catalog,
          seeded,
          changed: K,
          requests,
          reads,
          writes,
          otherRequests: requests - reads - writes,
          readStep: perPhase.read ?? 0,
          decideStep: perPhase.decide ?? 0,
          settleStep: perPhase.settle ?? 0,
          perStepTarget,
          requestTargetMet:
            Math.max(perPhase.read ?? 0, perPhase.decide ?? 0, perPhase.settle ?? 0) <= perStepTarget,
          mbSent: mb(m.sent),
          mbReceived: mb(m.received),
          mbMoved: mb(m.sent + m.received),
          seconds: Math.round(seconds * 10) / 10,
        };
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
