import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { parseStream } from 'fast-csv';
import { benchWorkerEnv } from './bench-env.ts';
import { repoRoot, startMoto, waitFor } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { startSimulator } from '../tools/simulator/index.ts';

/**
 * The real worker process on one file: `bin/catalog-sync worker` spawned against moto (the stack from
 * infra/storage.yml) and the catalog simulator, fed one landing file of N rows. Measured:
 * - peak RSS of the worker process (VmHWM from /proc/<pid>/status, read before it is stopped);
 * - its file rate: rows / the read time the worker logs with 'file read into window' (`readSeconds`:
 *   GetObject to the last row indexed, the GetObject stream from moto included); the time from the
 *   upload to that line (S3 event and receive too) is reported beside it;
 * - paired with it, in the same run and on the same object in moto's S3: fast-csv's raw parse rate of a
 *   GetObject stream, in a fresh process (`node bench/worker-process.ts raw-s3 …`), so both sides pay the
 *   same transfer;
 * - end to end: upload → every item in the simulator, and the items_batch calls made.
 *
 * `node bench/worker-process.ts <rows> [s3|dynamodb] [csv file]` runs one size alone.
 */

const run = promisify(execFile);

export interface WorkerProcessRow extends Record<string, string | number | boolean> {
  rows: number;
  stateStore: string;
  workerPeakRssMb: number;
  rssTargetMb: number;
  rssTargetMet: boolean;
  rawS3RowsPerSecond: number;
  workerFileRowsPerSecond: number;
  ratio: number;
  ratioTargetMet: boolean;
  fileReadS: number;
  uploadToAllInCatalogS: number;
  itemsBatchCalls: number;
}

/** fast-csv over a GetObject stream from moto: the baseline of the worker's file path. */
async function rawS3(endpoint: string, bucket: string, key: string): Promise<void> {
  const { s3 } = localClients(endpoint);
  const t0 = process.hrtime.bigint();
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let rows = 0;
  await new Promise<void>((resolve, reject) => {
    parseStream(res.Body as Readable, { headers: true })
      .on('data', () => rows++)
      .on('error', reject)
      .on('end', () => resolve());
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${JSON.stringify({ rows, seconds, rowsPerSecond: Math.round(rows / seconds) })}\n`);
}

async function rssMb(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

function peakRssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0);
    return Math.round(kb / 1024);
  });
}

export async function benchWorkerProcess(options: {
  file: string;
  rows: number;
  stateStore: 's3' | 'dynamodb';
  extraEnv?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<WorkerProcessRow> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const moto = await startMoto();
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const sim = await startSimulator({
    accessToken: token,
    processingDelayMs: 1000,
    hourlyCallBudget: 100_000,
  });
  let worker: ReturnType<typeof spawn> | undefined;
  // Interrupted (Ctrl-C, a timeout's SIGTERM): the worker and moto are ours to stop.
  const interrupted = () => {
    worker?.kill('SIGKILL');
    void moto.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const stage = `wp${randomBytes(2).toString('hex')}`;
    const clients = localClients(moto.endpoint);
    const { outputs } = await deployTemplate({
      clients,
      stackName: `catalog-sync-${stage}`,
      parameters: { Stage: stage },
    });
    const bucket = outputs.LandingBucketName!;
    const size = (await stat(options.file)).size;
    const body = await readFile(options.file);

    // 1. The baseline, on the same bytes in moto's S3 (outside landing/: no event).
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bench-raw/file.csv', Body: body }));
    const { stdout } = await run(
      process.execPath,
      [import.meta.filename, 'raw-s3', moto.endpoint, bucket, 'bench-raw/file.csv'],
      { maxBuffer: 1 << 20 },
    );
    const raw = JSON.parse(stdout) as { rows: number; rowsPerSecond: number };

    // 2. The worker process.
    const env = {
      ...process.env,
      ...benchWorkerEnv({
        endpoint: moto.endpoint,
        outputs,
        graphUrl: sim.url,
        token,
        stateStore: options.stateStore,
      }),
      META_HOURLY_CALL_BUDGET: '100000',
      // A file as large as the window: the item cap would otherwise flush it in parts (the default 50,000).
      WINDOW_MAX_ITEMS: String(Math.max(50_000, options.rows)),
      FILE_MAX_PRODUCTS: String(Math.max(500_000, options.rows)),
      GUARDRAILS_ENABLED: 'false',
      LOG_LEVEL: 'info',
      ...options.extraEnv,
    };
    const lines: { at: number; message: string; fields: Record<string, unknown> }[] = [];
    worker = spawn(path.join(repoRoot, 'bin', 'catalog-sync'), ['worker'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const onData = (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        try {
          const e = JSON.parse(l) as Record<string, unknown>;
          lines.push({ at: Date.parse(String(e.timestamp)), message: String(e.message), fields: e });
        } catch {
          // not a log line
        }
      }
    };
    worker.stdout!.on('data', onData);
    worker.stderr!.on('data', onData);
    const logged = (message: string) => lines.find((l) => l.message === message);
    // RSS sampled every 100 ms, the highest per phase: reading the file, deciding and writing the
    // manifest and payloads, sending, following to the end.
    const phaseOf = () =>
      lines.some((l) => l.fields.stage === 'manifest-submitted')
        ? 'afterSubmit'
        : lines.some((l) => l.fields.stage === 'manifest-written')
          ? 'send'
          : lines.some((l) => l.message === 'file read into window')
            ? 'flush'
            : 'read';
    const phasePeak: Record<string, number> = { read: 0, flush: 0, send: 0, afterSubmit: 0 };
    const sampler = setInterval(() => {
      void rssMb(worker!.pid!).then((mb) => {
        const p = phaseOf();
        phasePeak[p] = Math.max(phasePeak[p] ?? 0, mb);
      });
    }, 100);
    await waitFor('the worker to start', async () => logged('worker started') !== undefined, {
      timeoutMs: 60_000,
    });
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'landing/bench.csv', Body: body }));
    const uploadedAt = Date.now();
    const timeoutMs = 120_000 + options.rows * 2;
    await waitFor('the file in the window', async () => logged('file read into window') !== undefined, {
      timeoutMs,
      intervalMs: 100,
    });
    const fileReadAt = logged('file read into window')!.at;
    await waitFor(
      `${options.rows} products in the simulator`,
      async () => sim.products('1').length >= options.rows,
      {
        timeoutMs,
        intervalMs: 250,
      },
    );
    const allInAt = Date.now();
    await waitFor(
      'the manifest finished',
      async () => lines.some((l) => l.fields.stage === 'manifest-finished'),
      {
        timeoutMs,
        intervalMs: 250,
      },
    );
    const peak = await peakRssMb(worker.pid!);
    clearInterval(sampler);
    // The worker's own read time (GetObject → last row indexed), as the baseline's (GetObject → last
    // row parsed): the event's way through SQS to the worker is not the file path's cost.
    const readSeconds = Number(logged('file read into window')!.fields.readSeconds);
    const fileRate = Math.round(options.rows / readSeconds);
    const ratio = Math.round((fileRate / raw.rowsPerSecond) * 100) / 100;
    const rssTargetMb = options.rows <= 100_000 ? 300 : 450;
    const row: WorkerProcessRow = {
      rows: options.rows,
      stateStore: options.stateStore,
      taskMemoryMib: options.extraEnv?.TASK_MEMORY_MIB ?? 'none',
      heapPercent: options.extraEnv?.HEAP_PERCENT ?? 'default (40)',
      fileMb: Math.round(size / 1e5) / 10,
      workerPeakRssMb: peak,
      rssReadMb: phasePeak.read!,
      rssFlushMb: phasePeak.flush!,
      rssSendMb: phasePeak.send!,
      rssAfterMb: phasePeak.afterSubmit!,
      rssTargetMb,
      rssTargetMet: peak <= rssTargetMb,
      rawS3RowsPerSecond: raw.rowsPerSecond,
      workerFileRowsPerSecond: fileRate,
      ratio,
      ratioTargetMet: ratio >= 0.6,
      fileReadS: Math.round(readSeconds * 10) / 10,
      uploadToFileReadS: Math.round((fileReadAt - uploadedAt) / 100) / 10,
      uploadToAllInCatalogS: Math.round((allInAt - uploadedAt) / 100) / 10,
      itemsBatchCalls: sim.calls().filter((c) => c.endpoint === 'items_batch').length,
    };
    log(`worker process ${options.rows} (${options.stateStore}): ${JSON.stringify(row)}`);
    return row;
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await sim.stop();
    await moto.stop();
  }
}

if (import.meta.filename === process.argv[1]) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'raw-s3') {
    await rawS3(rest[0]!, rest[1]!, rest[2]!);
  } else {
    const rows = Number(mode);
    const file = rest[1] ?? path.join(repoRoot, 'bench', 'tmp', `catalog-${rows}-v0.csv`);
    await stat(file); // generate it with `node bench/generate-catalog.ts <file> <rows>`
    // Extra worker environment as NAME=value arguments after the file, e.g. NODE_OPTIONS=--max-old-space-size=256.
    const extraEnv = Object.fromEntries(
      rest.slice(2).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const row = await benchWorkerProcess({
      file,
      rows,
      stateStore: (rest[0] as 's3' | 'dynamodb') ?? 's3',
      extraEnv,
    });
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
}
