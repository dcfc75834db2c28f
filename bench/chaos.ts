import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { envFor } from '../src/aws/local-aws.ts';
import { repoRoot, startMoto } from '../src/aws/moto-server.ts';
import { deployTemplate, localClients } from '../src/aws/provision.ts';
import { mulberry32 } from '../src/meta/simulator/prng.ts';
import { startSimulator, type SimulatorFaults } from '../src/meta/simulator/index.ts';

/**
 * The chaos run: `npm run chaos -- --rounds N --seed S`.
 *
 * Each round uploads files with overlapping ids, switches a random simulator fault, SIGKILLs the worker at a
 * random moment and restarts it, and runs the reconciliation DAG (`airflow dags test`, real Airflow). At the
 * end the faults are cleared and the system gets a bounded time to converge; then the simulator's catalog
 * must hold the newest price of every product and landing/ must be empty. Exit 0 when both hold.
 * Everything runs on loopback: moto, the simulator, the worker, Airflow with SQLite.
 */

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    ids: { type: 'string', default: '40' },
    'converge-seconds': { type: 'string', default: '240' },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const seed = Number(args.seed);
const idCount = Number(args.ids);
const random = mulberry32(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const say = (line: string) => process.stdout.write(`[chaos] ${line}\n`);

const CATALOG = '777';
const HEADER = 'id,title,description,link,image_link,availability,price,brand';

const FAULTS: readonly { name: string; faults: SimulatorFaults }[] = [
  { name: 'none', faults: {} },
  { name: 'code 2 at 30%', faults: { code2Rate: 0.3, seed } },
  { name: '5xx at 30%', faults: { serverErrorRate: 0.3, seed } },
  { name: 'throttled twice (80014)', faults: { throttle: { etaMinutes: 0, times: 2 } } },
  { name: 'slow (400 ms)', faults: { latencyMs: 400 } },
  { name: 'batch status error at 30%', faults: { batchErrorRate: 0.3, seed } },
  { name: 'invalid token', faults: { invalidToken: { subcode: 463 } } },
] as const;

function csv(rows: [string, string][]): string {
  return `${HEADER}\n${rows
    .map(
      ([id, price]) =>
        `${id},Product ${id},About ${id},https://shop.example/p/${id},https://shop.example/i/${id}.jpg,in stock,${price},Acme`,
    )
    .join('\n')}\n`;
}

const workDir = await mkdtemp(path.join(tmpdir(), 'catalog-sync-chaos-'));
const moto = await startMoto();
const stage = `chaos${seed}`;
const { outputs } = await deployTemplate({
  clients: localClients(moto.endpoint),
  stackName: `catalog-sync-${stage}`,
  parameters: { Stage: stage },
});
const s3 = localClients(moto.endpoint).s3;
const token = `chaos-token-${seed}-${Math.floor(random() * 1e12)}`;
const sim = await startSimulator({ accessToken: token, processingDelayMs: 500, hourlyCallBudget: 10_000 });

const workerEnv = {
  ...process.env,
  ...envFor(moto.endpoint, outputs),
  META_GRAPH_URL: sim.url,
  META_CATALOG_ID: CATALOG,
  META_ACCESS_TOKEN: token,
  CATALOG_CURRENCY: 'USD',
  META_HOURLY_CALL_BUDGET: '10000',
  DEBOUNCE_QUIET_MS: '500',
  DEBOUNCE_MAX_HOLD_MS: '5000',
  VISIBILITY_TIMEOUT_S: '10',
  STATUS_POLL_INITIAL_MS: '200',
  STATUS_POLL_MAX_MS: '1000',
  META_MAX_RETRIES: '4',
  SHUTDOWN_GRACE_MS: '5000',
};
const workerLog: WriteStream = createWriteStream(path.join(workDir, 'worker.log'), { flags: 'a' });
let worker: ChildProcess | undefined;
let generation = 0;

function startWorker(): void {
  generation++;
  workerLog.write(`--- worker generation ${generation}\n`);
  worker = spawn(path.join(repoRoot, 'bin', 'catalog-sync'), ['worker'], {
    env: workerEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.pipe(workerLog, { end: false });
  worker.stderr!.pipe(workerLog, { end: false });
}

async function killWorker(signal: NodeJS.Signals): Promise<void> {
  const w = worker;
  if (!w || w.exitCode !== null || w.signalCode !== null) return;
  const exited = new Promise((r) => w.once('exit', r));
  w.kill(signal);
  await exited;
}

// Airflow: its own home with SQLite, the DAG folder of the repo, the stage's names as Variables.
const airflowHome = path.join(workDir, 'airflow');
await mkdir(airflowHome, { recursive: true });
const airflowEnv: NodeJS.ProcessEnv = {
  ...process.env,
  AIRFLOW_HOME: airflowHome,
  AIRFLOW__CORE__DAGS_FOLDER: path.join(repoRoot, 'dags'),
  AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${airflowHome}/airflow.db`,
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_DEFAULT_REGION: 'us-east-1',
  AIRFLOW_CONN_AWS_DEFAULT: JSON.stringify({
    conn_type: 'aws',
    login: 'local',
    password: 'local',
    extra: { region_name: 'us-east-1', endpoint_url: moto.endpoint },
  }),
  AIRFLOW_VAR_CATALOG_SYNC_STACK_NAME: `catalog-sync-${stage}`,
  AIRFLOW_VAR_CATALOG_SYNC_LANDING_BUCKET: outputs.LandingBucketName,
  AIRFLOW_VAR_CATALOG_SYNC_SYNCED_BUCKET: outputs.SyncedBucketName,
  AIRFLOW_VAR_CATALOG_SYNC_QUEUE_URL: outputs.QueueUrl,
  AIRFLOW_VAR_CATALOG_SYNC_DLQ_URL: outputs.DeadLetterQueueUrl,
  // Chaos makes rejections and DLQ messages on purpose; health is not what this run judges.
  AIRFLOW_VAR_CATALOG_SYNC_MAX_DLQ_MESSAGES: '-1',
  AIRFLOW_VAR_CATALOG_SYNC_MAX_ROWS_REJECTED_PER_HOUR: '-1',
  AIRFLOW_VAR_CATALOG_SYNC_MAX_ITEMS_REJECTED_PER_HOUR: '-1',
  AIRFLOW_VAR_CATALOG_SYNC_STRAGGLER_GRACE_MINUTES: '1',
  AIRFLOW_VAR_CATALOG_SYNC_STUCK_AFTER_MINUTES: '1',
};
const airflowBin = path.join(repoRoot, '.venv', 'bin', 'airflow');

async function runProcess(cmd: string, argv: string[], env: NodeJS.ProcessEnv, log: string): Promise<number> {
  const out = createWriteStream(path.join(workDir, log), { flags: 'a' });
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  out.end();
  return code;
}

let dagRuns = 0;
/** One DAG run with the anchor `aheadMinutes` in the future, so files and manifests look old enough. */
async function runDag(aheadMinutes: number): Promise<void> {
  dagRuns++;
  const anchor = new Date(Date.now() + aheadMinutes * 60_000 + dagRuns * 1000).toISOString();
  const code = await runProcess(
    airflowBin,
    ['dags', 'test', 'catalog_reconciliation', anchor],
    airflowEnv,
    'airflow.log',
  );
  say(`  DAG run ${dagRuns} (anchor +${aheadMinutes} min): exit ${code}`);
}

const expected = new Map<string, string>();
let uploads = 0;
async function upload(): Promise<void> {
  const n = 1 + Math.floor(random() * 12);
  const rows: [string, string][] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = `P${String(Math.floor(random() * idCount)).padStart(3, '0')}`;
    if (seen.has(id)) continue;
    seen.add(id);
    rows.push([id, (1 + Math.floor(random() * 9999) / 100).toFixed(2)]);
  }
  uploads++;
  // Key order follows upload order: a tie on event time is broken by key, as in the worker.
  const key = `landing/chaos/${String(uploads).padStart(5, '0')}.csv`;
  await s3.send(new PutObjectCommand({ Bucket: outputs.LandingBucketName, Key: key, Body: csv(rows) }));
  for (const [id, price] of rows) expected.set(id, `${price} USD`);
}

let exitCode = 1;
try {
  say(`seed ${seed}, ${rounds} rounds, ${idCount} ids; logs in ${workDir}`);
  const migrated = await runProcess(airflowBin, ['db', 'migrate'], airflowEnv, 'airflow.log');
  if (migrated !== 0) throw new Error(`airflow db migrate failed; see ${workDir}/airflow.log`);
  startWorker();
  for (let round = 1; round <= rounds; round++) {
    const fault = pick(FAULTS);
    sim.setFaults(fault.faults);
    const files = 1 + Math.floor(random() * 4);
    say(`round ${round}: fault "${fault.name}", ${files} uploads`);
    for (let i = 0; i < files; i++) await upload();
    // Kill at a random moment of the worker's cycle: window open, flushing, polling…
    await new Promise((r) => setTimeout(r, Math.floor(random() * 2500)));
    if (random() < 0.7) {
      await killWorker('SIGKILL');
      say(`  SIGKILL worker generation ${generation}`);
      if (random() < 0.5) await upload();
      startWorker();
    }
    if (fault.name === 'invalid token') {
      // The worker stops submitting on a bad token until restarted with a good one.
      await new Promise((r) => setTimeout(r, 1000));
      sim.setFaults({});
      await killWorker('SIGTERM');
      startWorker();
    }
    if (random() < 0.5) await runDag(random() < 0.5 ? 2 : 61);
  }

  say('converging: faults off, DAG runs until landing/ is empty and the catalog is complete');
  sim.setFaults({});
  const deadline = Date.now() + Number(args['converge-seconds']) * 1000;
  let mismatches: string[] = [];
  let landing: string[] = [];
  const check = async () => {
    const held = new Map(sim.products(CATALOG).map((p) => [p.id, String(p.price)]));
    mismatches = [...expected]
      .filter(([id, price]) => held.get(id) !== price)
      .map(([id, price]) => `${id}: want ${price}, have ${held.get(id) ?? 'nothing'}`);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: outputs.LandingBucketName, Prefix: 'landing/' }),
    );
    landing = (listed.Contents ?? []).map((o) => o.Key!);
    return mismatches.length === 0 && landing.length === 0;
  };
  while (Date.now() < deadline && !(await check())) {
    await new Promise((r) => setTimeout(r, 3000));
    await runDag(61);
  }
  const ok = await check();
  say(`uploads ${uploads}, products ${expected.size}, worker generations ${generation}, DAG runs ${dagRuns}`);
  say(`items_batch calls ${sim.calls().filter((c) => c.endpoint === 'items_batch').length}`);
  if (ok) {
    say('PASS: the catalog holds the newest price of every product and landing/ is empty');
    exitCode = 0;
  } else {
    say(`FAIL: ${mismatches.length} products wrong, ${landing.length} files still in landing/`);
    for (const m of mismatches.slice(0, 20)) say(`  ${m}`);
    for (const k of landing.slice(0, 20)) say(`  landing: ${k}`);
    say(`logs kept in ${workDir}`);
  }
} finally {
  await killWorker('SIGTERM');
  workerLog.end();
  await sim.stop();
  await moto.stop();
  if (exitCode === 0 && !args['keep-logs']) await rm(workDir, { recursive: true, force: true });
}
process.exitCode = exitCode;
