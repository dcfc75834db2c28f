import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

/**
 * The reconciliation DAG, run for real (`airflow dags test`, Airflow 3 with SQLite in its own home), against
 * one deployed stack. Health thresholds are off: chaos makes rejections and DLQ messages on purpose.
 */

export interface StackOutputs {
  stackName: string;
  landingBucket: string;
  syncedBucket: string;
  queueUrl: string;
  dlqUrl: string;
}

export interface Airflow {
  runs: number;
  migrate(): Promise<void>;
  /** One DAG run with its anchor `aheadMinutes` in the future, so files and manifests look that old. */
  runDag(aheadMinutes: number): Promise<number>;
}

const AIRFLOW_BIN = path.join(repoRoot, '.venv', 'bin', 'airflow');

export async function runLogged(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): Promise<number> {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  out.end();
  return code;
}

export async function createAirflow(options: {
  workDir: string;
  motoEndpoint: string;
  stack: StackOutputs;
  onRun?: (line: string) => void;
  /** Another checkout's dags/ (default: this repository's). */
  dagsFolder?: string;
}): Promise<Airflow> {
  const { workDir, motoEndpoint, stack } = options;
  const home = path.join(workDir, 'airflow');
  await mkdir(home, { recursive: true });
  const log = path.join(workDir, 'airflow.log');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: options.dagsFolder ?? path.join(repoRoot, 'dags'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${home}/airflow.db`,
    AWS_ENDPOINT_URL: motoEndpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AIRFLOW_CONN_AWS_DEFAULT: JSON.stringify({
      conn_type: 'aws',
      login: 'local',
      password: 'local',
      extra: { region_name: 'us-east-1', endpoint_url: motoEndpoint },
    }),
    AIRFLOW_VAR_CATALOG_SYNC_STACK_NAME: stack.stackName,
    AIRFLOW_VAR_CATALOG_SYNC_LANDING_BUCKET: stack.landingBucket,
    AIRFLOW_VAR_CATALOG_SYNC_SYNCED_BUCKET: stack.syncedBucket,
    AIRFLOW_VAR_CATALOG_SYNC_QUEUE_URL: stack.queueUrl,
    AIRFLOW_VAR_CATALOG_SYNC_DLQ_URL: stack.dlqUrl,
    AIRFLOW_VAR_CATALOG_SYNC_MAX_DLQ_MESSAGES: '-1',
    AIRFLOW_VAR_CATALOG_SYNC_MAX_ROWS_REJECTED_PER_HOUR: '-1',
    AIRFLOW_VAR_CATALOG_SYNC_MAX_ITEMS_REJECTED_PER_HOUR: '-1',
    AIRFLOW_VAR_CATALOG_SYNC_STRAGGLER_GRACE_MINUTES: '1',
    AIRFLOW_VAR_CATALOG_SYNC_STUCK_AFTER_MINUTES: '1',
  };
  const airflow: Airflow = {
    runs: 0,
    async migrate() {
      const code = await runLogged(AIRFLOW_BIN, ['db', 'migrate'], env, log);
      if (code !== 0) throw new Error(`airflow db migrate failed; see ${log}`);
    },
    async runDag(aheadMinutes: number) {
      airflow.runs++;
      // Each run's anchor is later than the last one's, so the DAG's "sent recently" markers move on.
      const anchor = new Date(Date.now() + aheadMinutes * 60_000 + airflow.runs * 1000).toISOString();
      const code = await runLogged(AIRFLOW_BIN, ['dags', 'test', 'catalog_reconciliation', anchor], env, log);
      options.onRun?.(`DAG run ${airflow.runs} (anchor +${aheadMinutes} min): exit ${code}`);
      return code;
    },
  };
  return airflow;
}
