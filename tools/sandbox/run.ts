import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { uploadFile } from '../../src/ops/landing-upload.ts';
import { envFor, LOCAL_DIR } from '../local-aws/local-aws.ts';
import { startMoto, type MotoServer } from '../local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../local-aws/provision.ts';
import { startSimulator, type Simulator } from '../simulator/index.ts';
import { DAG_ID, startSandboxAirflow, type SandboxAirflow } from './airflow.ts';
import { idsIn, waitForCatalog } from './catalog-wait.ts';
import { watchDagRuns } from './dag-watch.ts';
import { startDropFolder, type DropFolder } from './drop-folder.ts';
import { writeSandboxSummary } from './summary.ts';
import { startSandboxWorker, type SandboxWorker } from './worker-process.ts';

const CATALOG_ID = '100000000000001';
const API_VERSION = 'v26.0';
const LANDING_PREFIX = 'landing/';

export interface SandboxOptions {
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

/**
 * `catalog-sync sandbox`: moto with infra/storage.yml, the simulator, the worker (and Airflow), the sample
 * uploaded and synced, then a drop folder until Ctrl-C. Each step's parts live in this folder.
 */
export async function runSandbox(opts: SandboxOptions): Promise<void> {
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
  let worker: SandboxWorker | undefined;
  let drop: DropFolder | undefined;
  let airflow: SandboxAirflow | undefined;
  let dagWatch: NodeJS.Timeout | undefined;
  const shutdown = async () => {
    if (dagWatch) clearInterval(dagWatch);
    await drop?.stop();
    await airflow?.stop();
    await worker?.stop();
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
    worker = startSandboxWorker(
      {
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
      },
      logDir,
    );
    const workerLog = worker.log;
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
    const running = worker;
    await waitForCatalog({
      sim,
      catalogId: CATALOG_ID,
      expected,
      since: uploadedAt,
      timeoutMs: opts.timeout * 1000,
      workerLog,
      check: () => {
        check();
        const code = running.exitCode();
        if (code !== null) throw new Error(`the worker exited with code ${code}; see ${workerLog}`);
      },
    });
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

    await writeSandboxSummary(
      {
        logDir,
        simulatorUrl: sim.url,
        catalogPage: `${sim.url}/${API_VERSION}/${CATALOG_ID}/products`,
        awsEnv,
        workerLog,
        dropDir: drop?.dir,
        airflow,
        dagSchedule: opts.dagSchedule,
      },
      say,
    );
    if (opts.once) return;

    if (airflow) dagWatch = watchDagRuns(airflow, say);

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
