import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { envFor, LOCAL_DIR } from '../aws/local-aws.ts';
import { repoRoot, startMoto, waitFor, type MotoServer } from '../aws/moto-server.ts';
import { deployTemplate, localClients } from '../aws/provision.ts';
import { startSimulator, type Simulator } from '../meta/simulator/index.ts';

const SAMPLES = path.join(repoRoot, 'samples', 'products.csv');
const CATALOG_ID = '100000000000001';
const API_VERSION = 'v26.0';

interface SandboxOptions {
  simulatorPort?: number;
  quietMs: number;
  once?: boolean;
  file: string;
  timeout: number;
}

/** Expected ids of a sample file: the first column of every data row (a sandbox sanity check only). */
async function idsIn(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => l.split(',')[0]!.trim());
}

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description(
      'Run the whole system locally: moto (S3, SQS, CloudFormation) provisioned from infra/storage.yml, the ' +
        'Meta catalog simulator and the worker; upload the sample products and wait until the catalog holds them.',
    )
    .option('--simulator-port <n>', 'port of the catalog simulator (default: a free one)', (v) => Number(v))
    .option('--quiet-ms <ms>', 'debounce quiet period of the sandbox worker', (v) => Number(v), 2000)
    .option('--file <csv>', 'CSV file to upload first', SAMPLES)
    .option('--timeout <s>', 'how long to wait for the first sync before giving up', (v) => Number(v), 120)
    .option('--once', 'stop everything and exit 0 as soon as the file is synced (for scripts and CI)')
    .addHelpText(
      'after',
      '\nWhile it runs, upload more files to the landing bucket (the printed env points the AWS CLI or\n' +
        'catalog-sync status at it), look at the catalog in the simulator, switch faults with its admin API.\n' +
        'Ctrl-C stops the worker (it flushes first), the simulator and moto. Logs: .local/sandbox/.',
    )
    .action(async (opts: SandboxOptions) => runSandbox(opts));
}

async function runSandbox(opts: SandboxOptions): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const step = (n: number, what: string) => say(`[${n}/5] ${what}`);
  const logDir = path.join(LOCAL_DIR, 'sandbox');
  await mkdir(logDir, { recursive: true });

  let moto: MotoServer | undefined;
  let simulator: Simulator | undefined;
  let worker: ChildProcess | undefined;
  const shutdown = async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await simulator?.stop();
    await moto?.stop();
  };

  try {
    step(1, 'starting local AWS (moto) and deploying infra/storage.yml');
    moto = await startMoto({ logFile: undefined });
    const stage = 'sandbox';
    const { outputs, localDeviations } = await deployTemplate({
      clients: localClients(moto.endpoint),
      stackName: `catalog-sync-${stage}`,
      parameters: { Stage: stage },
    });
    for (const d of localDeviations) say(`      note: ${d}`);
    say(`      landing bucket s3://${outputs.LandingBucketName}/landing/  queue ${outputs.QueueName}`);

    step(2, 'starting the Meta catalog simulator');
    // A throwaway token: the worker gets it as it would get the real one, through its environment.
    const token = `EAA${randomBytes(24).toString('hex')}`;
    simulator = await startSimulator({
      port: opts.simulatorPort,
      accessToken: token,
      processingDelayMs: 1000,
    });
    say(`      ${simulator.url}`);

    step(3, 'starting the worker');
    const env = {
      ...process.env,
      ...envFor(moto.endpoint, outputs),
      META_GRAPH_URL: simulator.url,
      META_API_VERSION: API_VERSION,
      META_CATALOG_ID: CATALOG_ID,
      META_ACCESS_TOKEN: token,
      CATALOG_CURRENCY: process.env.CATALOG_CURRENCY ?? 'USD',
      DEBOUNCE_QUIET_MS: String(opts.quietMs),
      VISIBILITY_TIMEOUT_S: '30',
      STATUS_POLL_INITIAL_MS: '500',
    };
    const workerLog = path.join(logDir, 'worker.log');
    const logStream = createWriteStream(workerLog, { flags: 'a' });
    worker = spawn(path.join(repoRoot, 'bin', 'catalog-sync'), ['worker'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.pipe(logStream);
    worker.stderr!.pipe(logStream);
    let workerExit: number | null = null;
    worker.once('exit', (code) => (workerExit = code ?? 1));
    say(`      logs: ${workerLog}`);

    step(4, `uploading ${path.relative(process.cwd(), opts.file) || opts.file}`);
    const key = `landing/sandbox/${new Date().toISOString().replace(/[:.]/g, '-')}-${path.basename(opts.file)}`;
    const body = await readFile(opts.file);
    const uploadedAt = Date.now();
    await localClients(moto.endpoint).s3.send(
      new PutObjectCommand({ Bucket: outputs.LandingBucketName, Key: key, Body: body }),
    );
    say(`      s3://${outputs.LandingBucketName}/${key}`);

    step(5, 'waiting for the catalog to hold the products');
    const expected = await idsIn(opts.file);
    const sim = simulator;
    let held = 0;
    // A live line on a terminal; a line every 5 s in a log, so CI output stays readable.
    const tty = process.stdout.isTTY;
    const ticker = setInterval(
      () => {
        const secs = ((Date.now() - uploadedAt) / 1000).toFixed(0);
        const line = `      ${held}/${expected.length} products in the catalog after ${secs} s`;
        process.stdout.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      },
      tty ? 1000 : 5000,
    );
    try {
      await waitFor(
        `the worker to sync ${expected.length} products (see ${workerLog})`,
        async () => {
          if (workerExit !== null)
            throw new Error(`the worker exited with code ${workerExit}; see ${workerLog}`);
          const ids = new Set(sim.products(CATALOG_ID).map((p) => p.id));
          held = expected.filter((id) => ids.has(id)).length;
          return held === expected.length;
        },
        { timeoutMs: opts.timeout * 1000, intervalMs: 200 },
      );
    } finally {
      clearInterval(ticker);
      if (tty) process.stdout.write('\r\x1b[K');
    }
    const secs = ((Date.now() - uploadedAt) / 1000).toFixed(1);
    const calls = sim.calls().filter((c) => c.endpoint === 'items_batch').length;
    say(`      synced ${expected.length} products in ${secs} s with ${calls} items_batch call(s)`);
    say('');
    say(`Catalog (what Meta would hold):  ${sim.url}/${API_VERSION}/${CATALOG_ID}/products?format=table`);
    say(`Calls the simulator received:     ${sim.url}/_admin/calls`);
    say(`Faults (GET/PATCH):               ${sim.url}/_admin/faults`);
    say(`Worker log:                       ${workerLog}`);
    say('To use the CLI against the sandbox:');
    for (const [k, v] of Object.entries(envFor(moto.endpoint, outputs))) say(`  export ${k}=${v}`);
    say(`  bin/catalog-sync status`);

    if (!opts.once) {
      say('\nRunning. Upload more files to the landing bucket; Ctrl-C to stop.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      say('\nstopping: worker (flushes first), simulator, moto');
    }
  } finally {
    await shutdown();
  }
}
