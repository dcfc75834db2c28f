import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMoto } from '../../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients, type AwsClients } from '../../tools/local-aws/provision.ts';
import { startSimulator, type Simulator } from '../../tools/simulator/index.ts';
import { createAirflow, type Airflow, type StackOutputs } from './airflow.ts';
import { Ledger } from './ledger.ts';
import type { OracleTarget } from './oracle.ts';
import { chaosWorkerEnv, PROCESSING_MS } from './worker-env.ts';
import { WorkerPool } from './workers.ts';

/** The catalog the chaos run syncs into. */
export const CATALOG = '777';

/**
 * What a chaos run runs against, all on loopback: moto with the stack deployed, the simulator as Meta,
 * the worker pool (none started yet) and Airflow; `stop` ends them all.
 */
export interface ChaosRig {
  workDir: string;
  clients: AwsClients;
  stack: StackOutputs;
  sim: Simulator;
  ledger: Ledger;
  target: OracleTarget;
  pool: WorkerPool;
  airflow: Airflow;
  /** Stops the workers, the simulator and moto; removes the logs unless `keepWorkDir`. */
  stop(keepWorkDir: boolean): Promise<void>;
}

export async function startRig(options: {
  seed: number;
  random: () => number;
  workerBin: string | undefined;
  dagsFolder: string | undefined;
  say: (line: string) => void;
}): Promise<ChaosRig> {
  const { seed, random } = options;
  const workDir = await mkdtemp(path.join(tmpdir(), 'catalog-sync-chaos-'));
  const moto = await startMoto();
  const stage = `chaos${seed}`;
  const stackName = `catalog-sync-${stage}`;
  const clients = localClients(moto.endpoint);
  const { outputs } = await deployTemplate({ clients, stackName, parameters: { Stage: stage } });
  const stack: StackOutputs = {
    stackName,
    landingBucket: outputs.LandingBucketName!,
    syncedBucket: outputs.SyncedBucketName!,
    queueUrl: outputs.QueueUrl!,
    dlqUrl: outputs.DeadLetterQueueUrl!,
  };
  const token = `chaos-token-${seed}-${Math.floor(random() * 1e12)}`;
  const sim = await startSimulator({
    accessToken: token,
    processingDelayMs: PROCESSING_MS,
    hourlyCallBudget: 10_000,
  });
  const ledger = new Ledger('chaos');
  const target: OracleTarget = {
    s3: clients.s3,
    sqs: clients.sqs,
    landingBucket: stack.landingBucket,
    syncedBucket: stack.syncedBucket,
    dlqUrl: stack.dlqUrl,
    catalogId: CATALOG,
    sim,
    ledger,
  };
  const env = chaosWorkerEnv({
    motoEndpoint: moto.endpoint,
    outputs,
    graphUrl: sim.url,
    catalogId: CATALOG,
    token,
  });
  const workerLog = createWriteStream(path.join(workDir, 'worker.log'), { flags: 'a' });
  const pool = new WorkerPool({ env, log: workerLog, bin: options.workerBin });
  const airflow = await createAirflow({
    workDir,
    motoEndpoint: moto.endpoint,
    stack,
    onRun: (l) => options.say(`  ${l}`),
    dagsFolder: options.dagsFolder,
  });
  return {
    workDir,
    clients,
    stack,
    sim,
    ledger,
    target,
    pool,
    airflow,
    async stop(keepWorkDir) {
      await pool.stopAll('SIGTERM', 10_000);
      workerLog.end();
      await sim.stop();
      await moto.stop();
      if (!keepWorkDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}
