import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { envFor } from '../tools/local-aws/local-aws.ts';
import { startMoto } from '../tools/local-aws/moto-server.ts';
import { deployTemplate, localClients } from '../tools/local-aws/provision.ts';
import { mulberry32 } from '../tools/simulator/prng.ts';
import { startSimulator, type SimulatorFaults } from '../tools/simulator/index.ts';
import { createAirflow } from './chaos/airflow.ts';
import { redeliverOldEvent, withoutEvents } from './chaos/events.ts';
import { Ledger, type UploadRecord } from './chaos/ledger.ts';
import { checkOracle, describeReport, type OracleTarget } from './chaos/oracle.ts';
import { newestProblems, rejectedValues } from './chaos/oracle/newest.ts';
import { readManifests } from './chaos/oracle/s3-view.ts';
import { until, waitStarted, WorkerPool, type WorkerProcess } from './chaos/workers.ts';

/**
 * The chaos run: `npm run chaos -- --rounds N --seed S [--ids K] [--workers W] [--faults LIST]`.
 *
 * Each round switches a simulator fault (from a deck, so a run covers them all before repeating), uploads
 * files with overlapping ids (some with their S3 event lost: only the DAG's straggler path can find them),
 * may deliver an OLD file's event again, then SIGKILLs a worker at a random moment or rolls out a new
 * worker generation before stopping the old one, and may run the reconciliation DAG (`airflow dags test`,
 * real Airflow). W worker processes run at once (default 3). After every round the oracle (chaos/oracle.ts)
 * checks what must always hold; at the end the faults are cleared, the system gets a bounded time to
 * converge, and the full oracle must hold: newest value of every product in the catalog, no product ever
 * went backwards at Meta, every item of every archived file accepted or rejected with a reason, items_batch
 * calls within ceil(K/5000) per flush plus resends and recoveries, a reason on every DLQ message, landing/
 * empty. Exit 0 when it all holds. Everything runs on loopback: moto, the simulator, the workers, Airflow.
 *
 * --faults: a comma-separated deck of fault slugs, `+` combines slugs in one round, e.g.
 * `error-some+reorder,eta0,none`. Slugs: see FAULTS below.
 */

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    ids: { type: 'string', default: '40' },
    workers: { type: 'string', default: '3' },
    faults: { type: 'string', default: '' },
    'lost-rate': { type: 'string', default: '0.2' },
    'redeliver-rate': { type: 'string', default: '0.4' },
    'converge-seconds': { type: 'string', default: '240' },
    'keep-logs': { type: 'boolean', default: false },
    /** Another checkout's bin/catalog-sync (e.g. an older commit), judged by the same oracle. */
    'worker-bin': { type: 'string', default: '' },
    /** Another checkout's dags/ folder, to pair an older worker with its own DAG. */
    'dags-folder': { type: 'string', default: '' },
  },
});
const rounds = Number(args.rounds);
const seed = Number(args.seed);
const idCount = Number(args.ids);
const workerCount = Number(args.workers);
const lostRate = Number(args['lost-rate']);
const redeliverRate = Number(args['redeliver-rate']);
if (!(workerCount >= 1 && workerCount <= 5)) throw new Error('--workers must be 1–5');
const random = mulberry32(seed);
const say = (line: string) => process.stdout.write(`[chaos] ${line}\n`);
// A reader that went away (EPIPE) must not kill the run before it stops its workers and moto.
process.stdout.on('error', () => undefined);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CATALOG = '777';
const PROCESSING_MS = 500;
const REORDER_HOLD_MS = 3000;

interface Fault {
  name: string;
  faults: (seed: number) => SimulatorFaults;
}
const FAULTS: Record<string, Fault> = {
  none: { name: 'none', faults: () => ({}) },
  code2: { name: 'code 2 at 30%', faults: (s) => ({ code2Rate: 0.3, seed: s }) },
  '5xx': { name: '5xx at 30%', faults: (s) => ({ serverErrorRate: 0.3, seed: s }) },
  eta0: { name: '80014 with ETA 0 (twice)', faults: () => ({ throttle: { etaMinutes: 0, times: 2 } }) },
  slow: { name: 'slow answers (400 ms)', faults: () => ({ latencyMs: 400 }) },
  'error-none': {
    name: 'batch error, nothing applied (30%)',
    faults: (s) => ({ batchError: { rate: 0.3 }, seed: s }),
  },
  'error-some': {
    name: 'batch error after applying some, some ids listed (50%)',
    faults: (s) => ({ batchError: { rate: 0.5, apply: 'some', listInvalid: 'some' }, seed: s }),
  },
  'error-all': {
    name: 'batch error after applying all (50%)',
    faults: (s) => ({ batchError: { rate: 0.5, apply: 'all' }, seed: s }),
  },
  reorder: {
    name: `out-of-order processing (50% of batches held up to ${REORDER_HOLD_MS} ms)`,
    faults: (s) => ({ reorderBatches: { holdMs: REORDER_HOLD_MS, random: true, rate: 0.5 }, seed: s }),
  },
  token: { name: 'invalid token', faults: () => ({ invalidToken: { subcode: 463 } }) },
};

/** The deck: rounds take combos in turn; the default deck is every slug, shuffled, reshuffled per pass. */
function makeDeck(spec: string): () => string[] {
  if (spec.trim() !== '') {
    const combos = spec.split(',').map((c) => c.split('+').map((s) => s.trim()));
    for (const slug of combos.flat()) {
      if (!FAULTS[slug])
        throw new Error(`--faults: unknown fault "${slug}" (known: ${Object.keys(FAULTS).join(', ')})`);
    }
    let i = 0;
    return () => combos[i++ % combos.length]!;
  }
  let pile: string[] = [];
  return () => {
    if (pile.length === 0) {
      pile = Object.keys(FAULTS);
      for (let i = pile.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pile[i], pile[j]] = [pile[j]!, pile[i]!];
      }
    }
    return [pile.shift()!];
  };
}
const nextCombo = makeDeck(args.faults);

const workDir = await mkdtemp(path.join(tmpdir(), 'catalog-sync-chaos-'));
const moto = await startMoto();
const stage = `chaos${seed}`;
const stackName = `catalog-sync-${stage}`;
const clients = localClients(moto.endpoint);
const { outputs } = await deployTemplate({ clients, stackName, parameters: { Stage: stage } });
const stack = {
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

const workerEnv: NodeJS.ProcessEnv = {
  ...process.env,
  ...envFor(moto.endpoint, outputs),
  META_GRAPH_URL: sim.url,
  META_CATALOG_ID: CATALOG,
  META_ACCESS_TOKEN: token,
  CATALOG_CURRENCY: 'USD',
  // Meta's documented floor: an ETA-0 refusal must not stall a worker that believes it.
  META_HOURLY_CALL_BUDGET: '200',
  DEBOUNCE_QUIET_MS: '500',
  DEBOUNCE_MAX_HOLD_MS: '5000',
  VISIBILITY_TIMEOUT_S: '10',
  STATUS_POLL_INITIAL_MS: '200',
  STATUS_POLL_MAX_MS: '1000',
  META_MAX_RETRIES: '4',
  SHUTDOWN_GRACE_MS: '5000',
  LOG_LEVEL: 'info',
  // Timings of the send gate and lease, scaled to this run (ignored by a worker that does not know them).
  LEASE_TTL_MS: '3000',
  UNSENT_SETTLE_MS: String(PROCESSING_MS + REORDER_HOLD_MS + 1500),
  UNKNOWN_RETRY_BASE_MS: '300',
  UNKNOWN_RETRY_MAX: '10',
  THROTTLE_RETRY_MIN_MS: '200',
  THROTTLE_RETRY_MAX_MS: '2000',
  AUTH_PROBE_INTERVAL_MS: '1000',
  // A guardrail hold waits for an operator (release/discard); chaos judges failures, not guardrails.
  GUARDRAILS_ENABLED: 'false',
};
const workerLog = createWriteStream(path.join(workDir, 'worker.log'), { flags: 'a' });
const pool = new WorkerPool({ env: workerEnv, log: workerLog, bin: args['worker-bin'] || undefined });
const airflow = await createAirflow({
  workDir,
  motoEndpoint: moto.endpoint,
  stack,
  onRun: (l) => say(`  ${l}`),
  dagsFolder: args['dags-folder'] || undefined,
});

const tally = {
  uploads: 0,
  lostEvents: 0,
  redelivered: 0,
  sigkills: 0,
  deploys: 0,
  generations: 1,
  faults: new Map<string, number>(),
  oracleChecks: 0,
  oracleFailures: 0,
};
const problemsSeen = new Map<string, number>();

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

async function upload(round: number): Promise<UploadRecord> {
  const n = 1 + Math.floor(random() * 12);
  const ids = Array.from({ length: n }, () => `P${String(Math.floor(random() * idCount)).padStart(3, '0')}`);
  const lost = random() < lostRate;
  const rows = ledger.rowsFor(ids);
  const put = () => ledger.upload(clients.s3, stack.landingBucket, rows, { round, eventLost: lost });
  const record = lost ? await withoutEvents(clients.s3, stack.landingBucket, put) : await put();
  tally.uploads++;
  if (lost) {
    tally.lostEvents++;
    say(`  upload ${record.key} (${rows.length} rows) with its S3 event LOST`);
  }
  return record;
}

/** Delivers the event of an upload from an earlier round again, with its original event time. */
async function redeliverOld(round: number): Promise<void> {
  const old = ledger.uploads.filter((u) => u.round < round);
  if (old.length === 0) return;
  const u = pick(old);
  const manifests = await readManifests(clients.s3, stack.syncedBucket);
  const source = manifests.flatMap((m) => m.sources).find((s) => s.key === u.key && s.etag === u.etag);
  const eventTime = source ? Date.parse(source.eventTime) : u.lastModified;
  await redeliverOldEvent(clients.sqs, stack.queueUrl, stack.landingBucket, u, eventTime);
  tally.redelivered++;
  say(`  old event of ${u.key} (round ${u.round}) delivered again`);
}

function startGeneration(generation: number): WorkerProcess[] {
  return Array.from({ length: workerCount }, () => pool.start(generation));
}

/** Rolling deploy: the new generation is up before the old one is stopped (SIGTERM, or SIGKILL). */
async function deploy(signal: NodeJS.Signals): Promise<void> {
  const old = pool.live();
  tally.generations++;
  tally.deploys++;
  const fresh = startGeneration(tally.generations);
  await waitStarted(fresh);
  await Promise.all(old.map((p) => pool.stop(p, signal)));
  if (signal === 'SIGKILL') tally.sigkills += old.length;
  say(
    `  deploy: generation ${tally.generations} (${fresh.length} workers) up, then ${signal} to ${old.length} of the old`,
  );
}

async function oracleBetweenRounds(round: number): Promise<void> {
  tally.oracleChecks++;
  const report = await checkOracle(target, { final: false, slack: pool.live().length });
  if (report.ok) return;
  tally.oracleFailures++;
  say(`  ORACLE after round ${round}: ${report.problems.length} problem(s)`);
  for (const p of report.problems) {
    if (!problemsSeen.has(p)) say(`    ${p}`);
    problemsSeen.set(p, (problemsSeen.get(p) ?? 0) + 1);
  }
}

let exitCode = 1;
let cleaned: Promise<void> | undefined;
/** Stops what this run started (workers, simulator, moto); also on SIGTERM/SIGINT, so nothing is orphaned. */
const cleanup = () =>
  (cleaned ??= (async () => {
    await pool.stopAll('SIGTERM', 10_000);
    workerLog.end();
    await sim.stop();
    await moto.stop();
    if (exitCode === 0 && !args['keep-logs']) await rm(workDir, { recursive: true, force: true });
  })());
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the workers, the simulator and moto; logs kept in ${workDir}`);
    void cleanup().finally(() => process.exit(1));
  });
}
try {
  say(
    `seed ${seed}, ${rounds} rounds, ${idCount} ids, ${workerCount} worker(s) at once, ` +
      `lost-event rate ${lostRate}, old-event redelivery rate ${redeliverRate}; logs in ${workDir}`,
  );
  await airflow.migrate();
  await waitStarted(startGeneration(1));
  for (let round = 1; round <= rounds; round++) {
    const combo = nextCombo();
    const faults: SimulatorFaults = Object.assign(
      {},
      ...combo.map((slug) => FAULTS[slug]!.faults(seed * 1000 + round)),
    );
    sim.setFaults(faults);
    const roundStartSeq = sim.calls().at(-1)?.seq ?? 0;
    const label = combo.join('+');
    tally.faults.set(label, (tally.faults.get(label) ?? 0) + 1);
    const files = 1 + Math.floor(random() * 4);
    say(`round ${round}: fault "${combo.map((s) => FAULTS[s]!.name).join(' + ')}", ${files} uploads`);
    for (let i = 0; i < files; i++) {
      // Gaps around the debounce quiet period (500 ms): some files share a flush, some get their own, so
      // batches holding the same products are in flight together.
      if (i > 0) await pause(Math.floor(random() < 0.4 ? random() * 300 : 600 + random() * 900));
      await upload(round);
    }
    if (random() < redeliverRate) await redeliverOld(round);
    // Act at a random moment of the workers' cycle: window open, flushing, polling…
    await pause(Math.floor(random() * 2500));
    const action = random();
    if (action < 0.45 && pool.live().length > 0) {
      const victim = pick(pool.live());
      await pool.stop(victim, 'SIGKILL');
      tally.sigkills++;
      say(`  SIGKILL worker ${victim.id} (generation ${victim.generation})`);
      if (random() < 0.5) await upload(round);
      pool.start(tally.generations);
    } else if (action < 0.7) {
      await deploy(random() < 0.25 ? 'SIGKILL' : 'SIGTERM');
    }
    if (combo.includes('token')) {
      // A worker that met the refused token stops submitting until the token works again (a restart, or
      // its own probe): wait until Meta has refused one, then fix the token and roll the workers.
      await until(
        'an invalid-token refusal',
        () => sim.calls().some((c) => c.seq > roundStartSeq && c.errorCode === 190),
        { timeoutMs: 5000 },
      ).catch(() => undefined);
      sim.setFaults({});
      await deploy('SIGTERM');
    }
    if (random() < 0.5) await airflow.runDag(random() < 0.5 ? 2 : 61);
    await oracleBetweenRounds(round);
  }

  say('converging: faults off, DAG runs until landing/ is empty and the catalog holds every newest value');
  sim.setFaults({});
  const deadline = Date.now() + Number(args['converge-seconds']) * 1000;
  const landingEmpty = async () => {
    const listed = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: stack.landingBucket, Prefix: 'landing/', MaxKeys: 1 }),
    );
    return (listed.KeyCount ?? 0) === 0;
  };
  const converged = async () =>
    newestProblems(sim.products(CATALOG), ledger, await rejectedValues(clients.s3, stack.syncedBucket))
      .length === 0 && (await landingEmpty());
  while (!(await converged()) && Date.now() < deadline) {
    await airflow.runDag(61);
    // Give the workers a few seconds after each run (stragglers, re-checks), leaving early when done.
    await until('convergence', converged, { timeoutMs: 4000, intervalMs: 500 }).catch(() => undefined);
  }
  // Quiet workers: nothing in flight, so the call bound is checked without slack.
  await pool.stopAll('SIGTERM');
  const final = await checkOracle(target, { final: true });
  tally.oracleChecks++;

  const products = ledger.expected().size;
  const faultList = [...tally.faults].map(([k, v]) => `${k} ×${v}`).join(', ');
  say(
    `rounds ${rounds}, uploads ${tally.uploads} (${tally.lostEvents} with lost events), products ${products}, ` +
      `old events redelivered ${tally.redelivered}`,
  );
  say(
    `kills: ${tally.sigkills} SIGKILL, deploys ${tally.deploys}; worker processes ${pool.processes.length} ` +
      `in ${tally.generations} generations (${workerCount} at once); DAG runs ${airflow.runs}`,
  );
  say(`faults drawn: ${faultList}`);
  const c = final.calls;
  say(
    `items_batch calls ${c.accepted} accepted (+${c.refused} refused) vs bound ${c.bound}: ` +
      `${c.flushes} flushes → ${c.flushCalls}, ${c.recoveries} recovered flushes (${c.abandoned} abandoned manifests) → ${c.recoveryCalls}, ${c.resends} resends`,
  );
  say(`final oracle: ${describeReport(final)}`);
  const rejected = await rejectedValues(clients.s3, stack.syncedBucket);
  const excused = [...ledger.expected()].filter(([id, want]) => rejected.get(id)?.has(want.value));
  if (excused.length > 0) {
    say(
      `newest row rejected by Meta (named with a reason; not required in the catalog): ${excused.map(([id]) => id).join(', ')}`,
    );
  }
  say(`oracle checks ${tally.oracleChecks}, failed between rounds ${tally.oracleFailures}`);
  if (final.ok && tally.oracleFailures === 0) {
    say(
      'PASS: newest value of every product in the catalog, none ever went backwards, every archived item ' +
        'accepted or rejected with a reason, calls within bound, every DLQ message with a reason, landing/ empty',
    );
    exitCode = 0;
  } else {
    say(
      `FAIL: final oracle ${final.problems.length} problem(s), ${tally.oracleFailures} failed check(s) between rounds`,
    );
    for (const p of final.problems) say(`  ${p}`);
    say(`logs kept in ${workDir}`);
  }
} finally {
  await cleanup();
}
process.exitCode = exitCode;
