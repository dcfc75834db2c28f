import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { repoRoot, startMoto, waitFor } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { envFor } from '../tools/local-aws/local-aws.ts';
import { loadConfig } from '../src/config.ts';
import { readProducts } from '../src/ingest/csv-reader.ts';
import { silentLogger } from '../src/logger.ts';
import { createCatalogClient } from '../src/meta/items-batch-client.ts';
import { startSimulator } from '../tools/simulator/index.ts';
import { composeWorker } from '../src/worker/compose.ts';
import { generateCatalog } from './generate-catalog.ts';
import { benchStateStores } from './state-store.ts';
import { benchWorkerProcess } from './worker-process.ts';

/**
 * The benchmark: `npm run bench` (all), or `npm run bench -- --only file|e2e|idle|state|worker|render
 * [--sizes 5000,100000]` (`--e2e-stores s3,dynamodb`, `--state-catalogs 5000,100000,1000000
 * --state-changed 5000`, `--worker-sizes 100000,1000000`).
 * Writes bench/results/<timestamp>.json and bench/results/latest.md. Numbers depend on the machine and on
 * what else runs on it; the load average at the start is recorded with them.
 */

const run = promisify(execFile);
const resultsDir = path.join(repoRoot, 'bench', 'results');
const tmpDir = path.join(repoRoot, 'bench', 'tmp');
const notesFile = path.join(resultsDir, 'notes.md');

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    sizes: { type: 'string' },
    'e2e-sizes': { type: 'string' },
    'idle-seconds': { type: 'string', default: '60' },
    'e2e-stores': { type: 'string' },
    'state-catalogs': { type: 'string' },
    'state-changed': { type: 'string' },
    'state-ddb-sample': { type: 'string' },
    'worker-sizes': { type: 'string' },
  },
});

type Row = Record<string, string | number | boolean>;

async function fileFor(rows: number, variant = 0): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  const file = path.join(tmpDir, `catalog-${rows}-v${variant}.csv`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${file}\n`);
    await generateCatalog(file, rows, variant);
  }
  return file;
}

async function measure(mode: 'raw' | 'pipeline', file: string): Promise<Row> {
  const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bench', 'file-path.ts'), mode, file], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as Row;
}

/** 1. The file path, each size measured in fresh processes: fast-csv alone, then our whole pipeline. */
async function benchFilePath(sizes: number[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const rows of sizes) {
    const file = await fileFor(rows);
    const rawResult = await measure('raw', file);
    const pipe = await measure('pipeline', file);
    const ratio =
      Math.round(((pipe.rowsPerSecond as number) / (rawResult.rowsPerSecond as number)) * 100) / 100;
    const rssTarget = rows <= 100_000 ? 300 : 450;
    const row: Row = {
      rows,
      rawRowsPerSecond: rawResult.rowsPerSecond!,
      pipelineRowsPerSecond: pipe.rowsPerSecond!,
      ratio,
      ratioTargetMet: ratio >= 0.6,
      rawPeakRssMb: rawResult.peakRssMb!,
      pipelinePeakRssMb: pipe.peakRssMb!,
      rssTargetMb: rssTarget,
      rssTargetMet: (pipe.peakRssMb as number) <= rssTarget,
      chunks: pipe.chunks!,
      payloadMb: pipe.payloadMb!,
    };
    process.stderr.write(`file path ${rows}: ${JSON.stringify(row)}\n`);
    out.push(row);
  }
  return out;
}

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
    ...envFor(sb.endpoint, sb.outputs),
    STATE_STORE: stateStore,
    META_GRAPH_URL: graphUrl,
    META_CATALOG_ID: '1',
    META_ACCESS_TOKEN: token,
    CATALOG_CURRENCY: 'USD',
    COLUMN_MAP: '{"gtin":"gtin"}',
    DEBOUNCE_QUIET_MS: '2000',
    STATUS_POLL_INITIAL_MS: '1000',
    STATUS_POLL_MAX_MS: '5000',
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
async function benchEndToEnd(sizes: number[], stores: ('s3' | 'dynamodb')[]): Promise<Row[]> {
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
async function benchIdle(seconds: number): Promise<Row> {
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

function table(rows: Row[]): string {
  if (rows.length === 0) return '(not run)\n';
  const cols = Object.keys(rows[0]!);
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => String(r[c])).join(' | ')} |`),
  ].join('\n');
}

const only = args.only;
const sizes = (args.sizes ?? '5000,100000,1000000').split(',').map(Number);
const e2eSizes = (args['e2e-sizes'] ?? '5000,100000').split(',').map(Number);
const e2eStores = (args['e2e-stores'] ?? 's3,dynamodb').split(',') as ('s3' | 'dynamodb')[];
const stateCatalogs = (args['state-catalogs'] ?? '5000,100000,1000000').split(',').map(Number);
const stateChanged = Number(args['state-changed'] ?? 5000);
const stateSample = Number(args['state-ddb-sample'] ?? 100_000);
const workerSizes = (args['worker-sizes'] ?? '100000,1000000').split(',').map(Number);

/** 5. The real worker process (bin/catalog-sync worker) on one file per size: peak RSS and file rate. */
async function benchWorker(sizes: number[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const rows of sizes) {
    out.push(await benchWorkerProcess({ file: await fileFor(rows), rows, stateStore: 'dynamodb' }));
  }
  return out;
}
const started = new Date();
const machine = {
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? '?',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
};
const results = {
  startedAt: started.toISOString(),
  machine,
  filePath: !only || only === 'file' ? await benchFilePath(sizes) : [],
  endToEnd: !only || only === 'e2e' ? await benchEndToEnd(e2eSizes, e2eStores) : [],
  idle: !only || only === 'idle' ? [await benchIdle(Number(args['idle-seconds']))] : [],
  stateStore:
    !only || only === 'state'
      ? await benchStateStores({ catalogs: stateCatalogs, changed: stateChanged, ddbSample: stateSample })
      : [],
  workerProcess: !only || only === 'worker' ? await benchWorker(workerSizes) : [],
};
await mkdir(resultsDir, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-');
// `--only render` measures nothing: latest.md is written again from the newest runs (after notes.md changed).
const render = only === 'render';
if (!render) await writeFile(path.join(resultsDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);

// A partial run (--only) keeps latest.md whole: each section not run now shows the newest earlier run
// that has it, and says which run that was.
type Section = 'filePath' | 'endToEnd' | 'idle' | 'stateStore' | 'workerProcess';
const from: Partial<Record<Section, string>> = {};
if (only) {
  const earlier = (await readdir(resultsDir))
    .filter((f) => /^\d{4}-.*\.json$/.test(f) && f !== `${stamp}.json`)
    .sort()
    .reverse();
  for (const section of ['filePath', 'endToEnd', 'idle', 'stateStore', 'workerProcess'] as const) {
    if (results[section].length > 0) continue;
    for (const f of earlier) {
      const prev = JSON.parse(await readFile(path.join(resultsDir, f), 'utf8')) as Partial<typeof results>;
      const rows = prev[section];
      if (rows && rows.length > 0) {
        (results[section] as Row[]) = rows as Row[];
        from[section] = prev.startedAt ?? f;
        break;
      }
    }
  }
}
const origin = (section: Section) =>
  from[section] ? [`(from the run of ${from[section]}; machine and load as recorded in its JSON)`, ''] : [];
const md = [
  render
    ? `# Benchmark results (assembled ${results.startedAt})`
    : `# Benchmark results (${results.startedAt})`,
  '',
  render
    ? 'Each section comes from the run it names; the machine and its load are recorded in that run’s JSON.'
    : `Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GiB, load average at start ${machine.loadAverageAtStart.join(' / ')}.`,
  'Targets: ratio ≥ 0.6 of fast-csv raw; peak RSS ≤ 300 MB at 100k rows, ≤ 450 MB at 1M; items_batch calls = ceil(K/5000);',
  'idle ≤ 3 SQS requests a minute and no S3 requests. Rerun: `npm run bench` (see bench/run.ts for options).',
  '',
  '## 1. File path (parse → validate → map → dedupe → request payloads)',
  '',
  ...origin('filePath'),
  table(results.filePath),
  '',
  '## 2. End to end in the sandbox (moto + simulator)',
  '',
  ...origin('endToEnd'),
  table(results.endToEnd),
  '',
  '## 3. Idle worker',
  '',
  ...origin('idle'),
  table(results.idle),
  '',
  `## 4. Product state I/O of one flush of ${stateChanged} changed products, by store and catalog size`,
  '',
  'Counted at the HTTP layer (every request, the bytes of request and response bodies) for the three',
  'state steps of a flush: read (the gate), decide (merge `decided` with the lease token) and settle (merge',
  '`settled` once the batch is final). S3 is seeded with the whole catalog in its 256 shards; DynamoDB with',
  `the changed products plus a sample (${stateSample} at most) of the others, since its cost depends only on`,
  'the keys a flush touches (see bench/state-store.ts). Target: each step ≤ ceil(K/100) + 2 requests, and',
  'bytes moved independent of catalog size.',
  '',
  ...origin('stateStore'),
  table(results.stateStore),
  '',
  '## 5. The real worker process on one file (`bin/catalog-sync worker`, moto + simulator, STATE_STORE=dynamodb)',
  '',
  'Peak RSS is the process high-water mark (VmHWM); rss*Mb the highest 100 ms sample while reading the file,',
  'flushing (gate, manifest, payloads), sending, and after. The file rate is rows over upload → "file read into',
  'window"; its baseline is fast-csv over the same object\'s GetObject stream from moto, in the same run.',
  'Targets: peak RSS ≤ 300 MB at 100k rows, ≤ 450 MB at 1M; ratio ≥ 0.6.',
  '',
  ...origin('workerProcess'),
  table(results.workerProcess),
  '',
  // Hand-written analysis that goes with the figures (design notes, what is and is not met).
  existsSync(notesFile) ? await readFile(notesFile, 'utf8') : '',
].join('\n');
if (!render) await writeFile(path.join(resultsDir, `${stamp}.md`), md);
await writeFile(path.join(resultsDir, 'latest.md'), md);
process.stdout.write(md);
