import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, repoRoot, waitFor } from '../local-aws/moto-server.ts';

/**
 * Real Airflow 3 for the sandbox, from the project's venv: `airflow db migrate`, then the API server (UI
 * and REST API), the scheduler and the DAG processor, on SQLite under `<local>/airflow`, with the
 * project's dags/ folder, the simple auth manager (user `admin`, password kept in that folder) and the
 * reconciliation DAG pointed at the sandbox's moto and queue. Each component runs in its own process group
 * so that `stop()` ends it with everything it started (task runners, API workers): no orphans.
 */

export const AIRFLOW_USER = 'admin';
export const DAG_ID = 'catalog_reconciliation';

export interface SandboxAirflowOptions {
  /** Folder for the metadata DB, logs, the password file. */
  home: string;
  /** Folder for the component logs. */
  logDir: string;
  motoEndpoint: string;
  stack: {
    stackName: string;
    landingBucket: string;
    syncedBucket: string;
    queueUrl: string;
    dlqUrl: string;
  };
  /** Cron expression of the DAG (CATALOG_SYNC_SCHEDULE). */
  schedule: string;
  port?: number;
  /** Extra Airflow Variables (without the catalog_sync_ prefix). */
  variables?: Record<string, string>;
  onProgress?: (line: string) => void;
  /** Aborts the start-up waits (Ctrl-C while Airflow starts). */
  signal?: AbortSignal;
  startTimeoutMs?: number;
}

export interface SandboxAirflow {
  url: string;
  user: string;
  password: string;
  home: string;
  logs: string[];
  pids: number[];
  /** A JWT for the REST API (POST /auth/token). */
  token(): Promise<string>;
  /** Runs of the DAG, newest first, from the REST API. */
  dagRuns(): Promise<DagRun[]>;
  stop(): Promise<void>;
}

export interface DagRun {
  dag_run_id: string;
  state: string;
  run_type: string;
  start_date: string | null;
  end_date: string | null;
}

export function airflowBinary(): string {
  const bin = path.join(repoRoot, '.venv', 'bin', 'airflow');
  if (!existsSync(bin))
    throw new Error(`airflow not found at ${bin}: run "make setup" (or scripts/setup.sh) to create .venv`);
  return bin;
}

/** The user's password: kept in the Airflow folder so it stays the same from one sandbox run to the next. */
async function passwordFile(home: string): Promise<{ file: string; password: string }> {
  const file = path.join(home, 'simple_auth_manager_passwords.json');
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    if (typeof saved[AIRFLOW_USER] === 'string' && saved[AIRFLOW_USER] !== '')
      return { file, password: saved[AIRFLOW_USER] };
  } catch {
    // absent or unreadable: write a new one
  }
  const password = randomBytes(9).toString('base64url');
  await writeFile(file, `${JSON.stringify({ [AIRFLOW_USER]: password })}\n`, { mode: 0o600 });
  return { file, password };
}

/** The environment every Airflow component of the sandbox runs with. */
export function airflowEnv(
  o: SandboxAirflowOptions,
  extra: { port: number; passwords: string; jwtSecret: string },
): NodeJS.ProcessEnv {
  const url = `http://127.0.0.1:${extra.port}`;
  const variables: Record<string, string> = {
    stack_name: o.stack.stackName,
    landing_bucket: o.stack.landingBucket,
    synced_bucket: o.stack.syncedBucket,
    queue_url: o.stack.queueUrl,
    dlq_url: o.stack.dlqUrl,
    // Sandbox pace: a file is a straggler after a minute, a manifest stuck after two.
    straggler_grace_minutes: '1',
    stuck_after_minutes: '2',
    unknown_fate_after_minutes: '5',
    ...o.variables,
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AIRFLOW_HOME: o.home,
    AIRFLOW__CORE__DAGS_FOLDER: path.join(repoRoot, 'dags'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    AIRFLOW__CORE__PARALLELISM: '4',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    AIRFLOW__CORE__AUTH_MANAGER:
      'airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager',
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${AIRFLOW_USER}:admin`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: extra.passwords,
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(o.home, 'airflow.db')}`,
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(extra.port),
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__API__WORKERS: '1',
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__API_AUTH__JWT_SECRET: extra.jwtSecret,
    // New DAG files and changes show up within seconds (the default is 5 minutes).
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '10',
    AIRFLOW__LOGGING__BASE_LOG_FOLDER: path.join(o.home, 'logs'),
    CATALOG_SYNC_SCHEDULE: o.schedule,
    AWS_ENDPOINT_URL: o.motoEndpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AIRFLOW_CONN_AWS_DEFAULT: JSON.stringify({
      conn_type: 'aws',
      login: 'local',
      password: 'local',
      extra: { region_name: 'us-east-1', endpoint_url: o.motoEndpoint },
    }),
  };
  for (const [name, value] of Object.entries(variables))
    env[`AIRFLOW_VAR_CATALOG_SYNC_${name.toUpperCase()}`] = value;
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AIRFLOW_CONFIG']) delete env[name];
  return env;
}

function spawnLogged(argv: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    return spawn(airflowBinary(), argv, { env, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole process group, SIGKILL after the grace period. */
async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };
  signalGroup('SIGTERM');
  try {
    await waitFor(`airflow process group ${pid} to exit`, async () => !alive(-pid), {
      timeoutMs: graceMs,
      intervalMs: 100,
    });
  } catch {
    signalGroup('SIGKILL');
    await waitFor(`airflow process group ${pid} to die`, async () => !alive(-pid), {
      timeoutMs: 5000,
      intervalMs: 100,
    }).catch(() => undefined);
  }
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startSandboxAirflow(o: SandboxAirflowOptions): Promise<SandboxAirflow> {
  const progress = o.onProgress ?? (() => {});
  await mkdir(o.home, { recursive: true });
  await mkdir(o.logDir, { recursive: true });
  const port = o.port ?? (await freePort());
  const { file: passwords, password } = await passwordFile(o.home);
  const env = airflowEnv(o, { port, passwords, jwtSecret: randomBytes(32).toString('hex') });
  const url = `http://127.0.0.1:${port}`;
  const children: { name: string; child: ChildProcess; log: string; exit: number | null }[] = [];

  const stop = async () => {
    await Promise.all(children.map((c) => stopGroup(c.child, 15_000)));
  };
  const aborted = () => {
    if (o.signal?.aborted) throw new Error('interrupted while Airflow was starting');
  };

  try {
    const migrateLog = path.join(o.logDir, 'airflow-db-migrate.log');
    progress(`airflow db migrate (SQLite in ${o.home}; log ${migrateLog})`);
    const migrate = spawnLogged(['db', 'migrate'], env, migrateLog);
    children.push({ name: 'db migrate', child: migrate, log: migrateLog, exit: null });
    const code = await new Promise<number>((resolve) => {
      const onAbort = () => void stopGroup(migrate, 5000);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      migrate.once('exit', (c) => {
        o.signal?.removeEventListener('abort', onAbort);
        resolve(c ?? 1);
      });
    });
    children.pop();
    aborted();
    if (code !== 0)
      throw new Error(
        `airflow db migrate failed (exit ${code}); see ${migrateLog}:\n${await tail(migrateLog)}`,
      );

    for (const [name, argv] of [
      ['api-server', ['api-server', '--port', String(port), '--host', '127.0.0.1']],
      ['scheduler', ['scheduler']],
      ['dag-processor', ['dag-processor']],
    ] as const) {
      const log = path.join(o.logDir, `airflow-${name}.log`);
      const child = spawnLogged([...argv], env, log);
      const entry = { name, child, log, exit: null as number | null };
      child.once('exit', (c) => (entry.exit = c ?? 1));
      children.push(entry);
    }
    progress(`airflow api-server, scheduler, dag-processor starting (logs ${o.logDir}/airflow-*.log)`);

    await waitFor(
      `the Airflow API server on ${url} and its scheduler to report healthy`,
      async () => {
        aborted();
        const dead = children.find((c) => c.exit !== null);
        if (dead)
          throw new Error(
            `airflow ${dead.name} exited with code ${dead.exit} at start; see ${dead.log}:\n${await tail(dead.log)}`,
          );
        const res = await fetch(`${url}/api/v2/monitor/health`);
        if (!res.ok) return false;
        const health = (await res.json()) as Record<string, { status?: string } | undefined>;
        return health.metadatabase?.status === 'healthy' && health.scheduler?.status === 'healthy';
      },
      { timeoutMs: o.startTimeoutMs ?? 240_000, intervalMs: 500 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  let cached: { token: string; at: number } | undefined;
  const token = async (): Promise<string> => {
    if (cached && Date.now() - cached.at < 10 * 60_000) return cached.token;
    const res = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: AIRFLOW_USER, password }),
    });
    if (!res.ok) throw new Error(`Airflow refused the sandbox login: HTTP ${res.status} ${await res.text()}`);
    const { access_token } = (await res.json()) as { access_token: string };
    cached = { token: access_token, at: Date.now() };
    return access_token;
  };
  return {
    url,
    user: AIRFLOW_USER,
    password,
    home: o.home,
    logs: children.map((c) => c.log),
    pids: children.map((c) => c.child.pid!),
    token,
    async dagRuns() {
      const res = await fetch(`${url}/api/v2/dags/${DAG_ID}/dagRuns?order_by=-run_after&limit=20`, {
        headers: { authorization: `Bearer ${await token()}` },
      });
      if (res.status === 404) return []; // the DAG processor has not parsed the file yet
      if (!res.ok) throw new Error(`Airflow REST API: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { dag_runs: DagRun[] }).dag_runs;
    },
    stop,
  };
}
