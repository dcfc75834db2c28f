import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { envFor, LOCAL_DIR } from '../local-aws/local-aws.ts';
import { repoRoot, startMoto, waitFor, type MotoServer } from '../local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../local-aws/provision.ts';
import { startSimulator, type Simulator } from '../simulator/index.ts';
import { startDropFolder, type DropFolder } from './drop-folder.ts';
import { uploadFile } from '../../src/commands/put.ts';
import { DAG_ID, startSandboxAirflow, type SandboxAirflow } from './sandbox-airflow.ts';

const SAMPLES = path.join(repoRoot, 'samples', 'products.csv');
const CATALOG_ID = '100000000000001';
const API_VERSION = 'v26.0';
const LANDING_PREFIX = 'landing/';

interface SandboxOptions {
  simulatorPort?: number;
  quietMs: number;
  once?: boolean;
  file: string;
  timeout: number;
  airflow?: boolean;
  airflowPort?: number;
  dagSchedule: string;
  dropDir?: string;
}

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** Expected ids of a sample file: the first column of every data row (a sandbox sanity check only). */
async function idsIn(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => l.split(',')[0]!.trim());
}

const cron = (raw: string): string => {
  if (raw.trim().split(/\s+/).length !== 5)
    throw new InvalidArgumentError(
      `expected a cron expression of five fields such as "*/2 * * * *", got "${raw}"`,
    );
  return raw.trim();
};
const port = (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`expected a port number (1-65535), got "${raw}"`);
  return n;
};

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description(
      'Run the whole system locally: moto (S3, SQS, CloudFormation) provisioned from infra/storage.yml, the ' +
        'Meta catalog simulator and the worker; upload the sample products and wait until the catalog holds them. ' +
        'With --airflow, also real Airflow 3 running the reconciliation DAG every few minutes against it.',
    )
    .option('--simulator-port <n>', 'port of the catalog simulator (default: a free one)', port)
    .option('--quiet-ms <ms>', 'debounce quiet period of the sandbox worker', (v) => Number(v), 2000)
    .option('--file <csv>', 'CSV file to upload first', SAMPLES)
    .option('--timeout <s>', 'how long to wait for the first sync before giving up', (v) => Number(v), 120)
    .option('--once', 'stop everything and exit 0 as soon as the file is synced (for scripts and CI)')
    .option(
      '--drop-dir <dir>',
      'folder whose new files are uploaded to the landing prefix (default: .local/sandbox/drop)',
    )
    .optionsGroup('Airflow:')
    .option(
      '--airflow',
      'also start Airflow 3 (API server and UI, scheduler, DAG processor; SQLite in .local/airflow) with the ' +
        "project's dags/, running the reconciliation DAG against the sandbox",
    )
    .option('--airflow-port <n>', 'port of the Airflow UI and API (default: a free one)', port)
    .option(
      '--dag-schedule <cron>',
      'how often the sandbox runs the DAG (CATALOG_SYNC_SCHEDULE; production stays hourly)',
      cron,
      '*/2 * * * *',
    )
    .addHelpText(
      'after',
      '\nWhile it runs: drop CSV files into the drop folder (or `catalog-sync put FILE --wait` with the\n' +
        "printed environment), open the catalog page in a browser, switch faults with the simulator's admin\n" +
        'API, and with --airflow watch the DAG in the Airflow UI (URL and login are printed).\n' +
        'Ctrl-C stops everything it started: Airflow, the worker (it flushes first), the simulator and moto.\n' +
        'Logs: .local/sandbox/. Examples:\n' +
        '  catalog-sync sandbox\n' +
        '  catalog-sync sandbox --airflow              (make sandbox-airflow)\n' +
        '  catalog-sync sandbox --airflow --dag-schedule "* * * * *"',
    )
    .action(async (opts: SandboxOptions) => runSandbox(opts));
}

async function runSandbox(opts: SandboxOptions): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const steps = opts.airflow ? 6 : 5;
  const step = (n: number, what: string) => say(`[${n}/${steps}] ${what}`);
  const logDir = path.join(LOCAL_DIR, 'sandbox');
  await mkdir(logDir, { recursive: true });

  // Ctrl-C at any point stops what was started so far, and nothing is left running.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const check = () => {
    if (abort.signal.aborted) throw new Interrupted('interrupted');
  };

  let moto: MotoServer | undefined;
  let simulator: Simulator | undefined;
  let worker: ChildProcess | undefined;
  let drop: DropFolder | undefined;
  let airflow: SandboxAirflow | undefined;
  let dagWatch: NodeJS.Timeout | undefined;
  const shutdown = async () => {
    if (dagWatch) clearInterval(dagWatch);
    await drop?.stop();
    await airflow?.stop();
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
    check();
    const stage = 'sandbox';
    const { outputs, localDeviations } = await deployTemplate({
      clients: localClients(moto.endpoint),
      stackName: `catalog-sync-${stage}`,
      parameters: { Stage: stage },
    });
    check();
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
    const awsEnv = envFor(moto.endpoint, outputs);
    const env = {
      ...process.env,
      ...awsEnv,
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

    const s3 = localClients(moto.endpoint).s3;
    step(4, `uploading ${path.relative(process.cwd(), opts.file) || opts.file}`);
    const key = `${LANDING_PREFIX}sandbox/${new Date().toISOString().replace(/[:.]/g, '-')}-${path.basename(opts.file)}`;
    const uploadedAt = Date.now();
    await uploadFile(s3, outputs.LandingBucketName!, key, opts.file);
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
          check();
          if (workerExit !== null)
            throw new Error(`the worker exited with code ${workerExit}; see ${workerLog}`);
          const ids = new Set(sim.products(CATALOG_ID).map((p) => p.id));
          held = expected.filter((id) => ids.has(id)).length;
          return held === expected.length;
        },
        { timeoutMs: opts.timeout * 1000, intervalMs: 200 },
      );
    } catch (err) {
      check(); // an interruption is reported as such, not as a time-out
      throw err;
    } finally {
      clearInterval(ticker);
      if (tty) process.stdout.write('\r\x1b[K');
    }
    const secs = ((Date.now() - uploadedAt) / 1000).toFixed(1);
    const calls = sim.calls().filter((c) => c.endpoint === 'items_batch').length;
    say(`      synced ${expected.length} products in ${secs} s with ${calls} items_batch call(s)`);

    if (opts.airflow) {
      step(6, `starting Airflow 3 with dags/ (DAG ${DAG_ID} on "${opts.dagSchedule}"): a minute or two`);
      airflow = await startSandboxAirflow({
        home: path.join(LOCAL_DIR, 'airflow'),
        logDir,
        motoEndpoint: moto.endpoint,
        stack: {
          stackName: `catalog-sync-${stage}`,
          landingBucket: outputs.LandingBucketName!,
          syncedBucket: outputs.SyncedBucketName!,
          queueUrl: outputs.QueueUrl!,
          dlqUrl: outputs.DeadLetterQueueUrl!,
        },
        schedule: opts.dagSchedule,
        port: opts.airflowPort,
        signal: abort.signal,
        onProgress: (line) => say(`      ${line}`),
      });
      say(`      Airflow is up: ${airflow.url}`);
    }

    if (!opts.once)
      drop = await startDropFolder({
        dir: path.resolve(opts.dropDir ?? path.join(logDir, 'drop')),
        upload: async (file, name) => {
          const u = await uploadFile(s3, outputs.LandingBucketName!, `${LANDING_PREFIX}drop/${name}`, file);
          return `dropped ${name} -> s3://${u.bucket}/${u.key} (${u.size} bytes)`;
        },
        onLine: say,
      });

    const envFile = path.join(logDir, 'env.sh');
    await writeFile(
      envFile,
      `# Points bin/catalog-sync (status, put, redrive) at the running sandbox: source ${path.relative(process.cwd(), envFile)}\n` +
        Object.entries({
          ...awsEnv,
          SIMULATOR_URL: sim.url,
          CATALOG_PAGE: `${sim.url}/${API_VERSION}/${CATALOG_ID}/products`,
          ...(airflow ? { AIRFLOW_URL: airflow.url } : {}),
        })
          .map(([k, v]) => `export ${k}=${v}`)
          .join('\n') +
        '\n',
    );
    const catalogPage = `${sim.url}/${API_VERSION}/${CATALOG_ID}/products`;
    say('');
    say(`Catalog page (open in a browser):  ${catalogPage}   (?format=json for scripts)`);
    say(`Call log and batches:              ${sim.url}/_admin/calls   ${sim.url}/_admin/batches`);
    say(`Faults (GET/PATCH JSON):           ${sim.url}/_admin/faults`);
    if (drop) say(`Drop folder (files are uploaded):  ${drop.dir}`);
    if (airflow) {
      say(`Airflow UI:                        ${airflow.url}   login: ${airflow.user} / ${airflow.password}`);
      say(`DAG ${DAG_ID} runs on "${opts.dagSchedule}"; Airflow logs: ${path.join(logDir, 'airflow-*.log')}`);
    }
    say(`Worker log:                        ${workerLog}`);
    say(`To use the CLI against the sandbox (also in ${envFile}):`);
    for (const [k, v] of Object.entries(awsEnv)) say(`  export ${k}=${v}`);
    say(`  bin/catalog-sync put my-products.csv --wait`);
    say(`  bin/catalog-sync status`);
    if (opts.once) return;

    if (airflow) {
      // Each finished DAG run, as it finishes: the sweep is visible here as well as in the UI.
      const reported = new Set<string>();
      const af = airflow;
      let busy = false;
      dagWatch = setInterval(() => {
        if (busy) return;
        busy = true;
        af.dagRuns()
          .then((runs) => {
            for (const r of runs.slice().reverse()) {
              if ((r.state !== 'success' && r.state !== 'failed') || reported.has(r.dag_run_id)) continue;
              reported.add(r.dag_run_id);
              const took =
                r.start_date && r.end_date
                  ? ` in ${((Date.parse(r.end_date) - Date.parse(r.start_date)) / 1000).toFixed(0)} s`
                  : '';
              say(`DAG ${DAG_ID}: run ${r.dag_run_id} ${r.state}${took}`);
            }
          })
          .catch(() => undefined)
          .finally(() => (busy = false));
      }, 5000);
    }

    say('\nRunning. Drop files into the drop folder, or use the commands above; Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      if (abort.signal.aborted) resolve();
      else abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    say(`\nstopping: ${airflow ? 'Airflow, ' : ''}worker (flushes first), simulator, moto`);
  } catch (err) {
    if (!(err instanceof Interrupted) && !abort.signal.aborted) throw err;
    say('\ninterrupted: stopping what was started');
    process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await shutdown();
  }
}
