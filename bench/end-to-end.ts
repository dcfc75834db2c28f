import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startMoto, waitFor } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { startSimulator } from '../tools/simulator/index.ts';
import { loadConfig } from '../src/config.ts';
import { readProducts } from '../src/ingest/csv-reader.ts';
import { silentLogger } from '../src/logger.ts';
import { createCatalogClient } from '../src/meta/items-batch-client.ts';
import { composeWorker } from '../src/worker/compose.ts';
import { benchWorkerEnv } from './bench-env.ts';
import { fileFor, type Row } from './file-sections.ts';

/** Sections 2 and 3 of the benchmark: the in-process worker end to end through moto and the simulator, and idle. */

/** A middleware that counts every request an SDK client sends, by service and operation. */
function requestCounter(service: string, counts: Map<string, number>) {
  return (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: unknown) => {
      const key = `${service}:${context.commandName ?? '?'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return next(args);
    };
}

interface Sandbox {
  endpoint: string;
  outputs: Record<string, string>;
  stop(): Promise<void>;
}

async function sandbox(): Promise<Sandbox> {
  const moto = await startMoto();
  const stage = `bench${randomBytes(2).toString('hex')}`;
  const { outputs } = await deployTemplate({
    clients: localClients(moto.endpoint),
    stackName: `catalog-sync-${stage}`,
    parameters: { Stage: stage },
  });
  return { endpoint: moto.endpoint, outputs, stop: () => moto.stop() };
}

async function startWorker(
  sb: Sandbox,
  graphUrl: string,
  token: string,
  counts: Map<string, number>,
  stateStore: 's3' | 'dynamodb' = 's3',
) {
  const env = {
    ...benchWorkerEnv({ endpoint: sb.endpoint, outputs: sb.outputs, graphUrl, token, stateStore }),
    META_HOURLY_CALL_BUDGET: '1000',
  };
  const config = loadConfig(env);
  const clientOpts = {
    endpoint: sb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const s3 = new S3Client({ ...clientOpts, forcePathStyle: true });
  const sqs = new SQSClient(clientOpts);
  const dynamodb = new DynamoDBClient(clientOpts);
  // The deserialize step runs once per HTTP attempt, so retries count too.
  const at = { step: 'deserialize', name: 'benchRequestCounter' } as const;
  s3.middlewareStack.add(
    requestCounter('s3', counts) as Parameters<S3Client['middlewareStack']['add']>[0],
    at,
  );
  sqs.middlewareStack.add(
    requestCounter('sqs', counts) as Parameters<SQSClient['middlewareStack']['add']>[0],
    at,
  );
  dynamodb.middlewareStack.add(
    requestCounter('dynamodb', counts) as Parameters<DynamoDBClient['middlewareStack']['add']>[0],
    at,
  );
  const logger = silentLogger();
  const client = createCatalogClient({ ...config, logger });
  const worker = composeWorker({ config, s3, sqs, dynamodb, client, readRows: readProducts, logger });
  worker.start();
  return worker;
}

const sum = (counts: Map<string, number>, prefix: string) =>
  [...counts].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

/** 2. End to end in the sandbox: one file of K changed rows, created → accepted → final status. */
export async function benchEndToEnd(sizes: number[], stores: ('s3' | 'dynamodb')[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const stateStore of stores)
    for (const rows of sizes) {
      const sb = await sandbox();
      const token = `bench-${randomBytes(16).toString('hex')}`;
      const sim = await startSimulator({
        accessToken: token,
        processingDelayMs: 1000,
        hourlyCallBudget: 1000,
      });
      const counts = new Map<string, number>();
      const worker = await startWorker(sb, sim.url, token, counts, stateStore);
      try {
        const file = await fileFor(rows);
        const body = await readFile(file);
        const created = Date.now();
        await localClients(sb.endpoint).s3.send(
          new PutObjectCommand({
            Bucket: sb.outputs.LandingBucketName,
            Key: `landing/bench-${rows}.csv`,
            Body: body,
          }),
        );
        let acceptedAt = 0;
        await waitFor(
          `${rows} products in the simulator`,
          async () => {
            const batches = sim.calls().filter((c) => c.endpoint === 'items_batch' && c.outcome === 'ok');
            const sent = batches.reduce((a, c) => a + (c.itemCount ?? 0), 0);
            if (sent >= rows && !acceptedAt)
              acceptedAt = Math.max(...batches.map((c) => c.at + (c.durationMs ?? 0)));
            return sim.products('1').length >= rows;
          },
          { timeoutMs: 600_000, intervalMs: 200 },
        );
        const storedAt = Date.now();
        // "Final status" is when the worker has read a finished status for every batch.
        await waitFor(
          'final statuses',
          async () => {
            const handles = new Set(
              sim
                .calls()
                .filter((c) => c.endpoint === 'items_batch')
                .map((c) => c.handle),
            );
            const done = new Set(
              sim
                .calls()
                .filter(
                  (c) =>
                    c.endpoint === 'check_batch_request_status' &&
                    c.outcome === 'ok' &&
                    c.at > storedAt - 5000,
                )
                .map((c) => c.handle),
            );
            return [...handles].every((h) => h === null || done.has(h));
          },
          { timeoutMs: 120_000, intervalMs: 200 },
        );
        const finalAt = Date.now();
        const calls = sim.calls();
        const row: Row = {
          stateStore,
          rows,
          createdToAcceptedS: Math.round((acceptedAt - created) / 100) / 10,
          createdToFinalS: Math.round((finalAt - created) / 100) / 10,
          itemsBatchCalls: calls.filter((c) => c.endpoint === 'items_batch').length,
          expectedCalls: Math.ceil(rows / 5000),
          statusPolls: calls.filter((c) => c.endpoint === 'check_batch_request_status').length,
          s3Requests: sum(counts, 's3:'),
          sqsRequests: sum(counts, 'sqs:'),
          dynamodbRequests: sum(counts, 'dynamodb:'),
        };
        row.callsTargetMet = row.itemsBatchCalls === row.expectedCalls;
        process.stderr.write(`end to end ${rows}: ${JSON.stringify(row)}\n`);
        out.push(row);
      } finally {
        await worker.stop();
        await sim.stop();
        await sb.stop();
      }
    }
  return out;
}

/** 3. An idle worker: requests per minute after start-up settles. */
export async function benchIdle(seconds: number): Promise<Row> {
  const sb = await sandbox();
  const sim = await startSimulator({ accessToken: 'idle-token-xxxxxxxx' });
  const counts = new Map<string, number>();
  const worker = await startWorker(sb, sim.url, 'idle-token-xxxxxxxx', counts);
  try {
    await new Promise((r) => setTimeout(r, 5000)); // start-up scans are not idle time
    const before = new Map(counts);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const delta = (prefix: string) => sum(counts, prefix) - sum(before, prefix);
    const perMinute = (n: number) => Math.round((n * 600) / seconds) / 10;
    const row: Row = {
      seconds,
      sqsPerMinute: perMinute(delta('sqs:')),
      s3PerMinute: perMinute(delta('s3:')),
      graphCalls: sim.calls().length,
    };
    row.targetMet = (row.sqsPerMinute as number) <= 3 && row.s3PerMinute === 0;
    process.stderr.write(`idle: ${JSON.stringify(row)}\n`);
    return row;
  } finally {
    await worker.stop();
    await sim.stop();
    await sb.stop();
  }
}
