import { mulberry32 } from '../tools/simulator/prng.ts';
import { startGeneration } from './chaos/actions.ts';
import { newTally, type ChaosContext } from './chaos/context.ts';
import { converge } from './chaos/converge.ts';
import { makeDeck } from './chaos/fault-deck.ts';
import { checkOracle } from './chaos/oracle.ts';
import { rejectedValues } from './chaos/oracle/newest.ts';
import { parseChaosOptions } from './chaos/options.ts';
import { startRig } from './chaos/rig.ts';
import { runRound } from './chaos/round.ts';
import { summarize } from './chaos/summary.ts';
import { waitStarted } from './chaos/workers.ts';

/**
 * The chaos run: `npm run chaos -- --rounds N --seed S [--ids K] [--workers W] [--faults LIST]`
 * (all flags: chaos/options.ts).
 *
 * Each round (chaos/round.ts) switches a simulator fault (from a deck, chaos/fault-deck.ts, so a run covers
 * them all before repeating), uploads files with overlapping ids (some with their S3 event lost: only the
 * DAG's straggler path can find them), may deliver an OLD file's event again, then SIGKILLs a worker at a
 * random moment or rolls out a new worker generation before stopping the old one, and may run the
 * reconciliation DAG (`airflow dags test`, real Airflow). W worker processes run at once (default 3).
 * After every round the oracle (chaos/oracle.ts) checks what must always hold; at the end the faults are
 * cleared, the system gets a bounded time to converge (chaos/converge.ts), and the full oracle must hold:
 * newest value of every product in the catalog, no product ever went backwards at Meta, every item of
 * every archived file accepted or rejected with a reason, items_batch calls within ceil(K/5000) per flush
 * plus resends and recoveries, a reason on every DLQ message, landing/ empty. Exit 0 when it all holds.
 * Everything runs on loopback (chaos/rig.ts): moto, the simulator, the workers, Airflow.
 *
 * --faults: a comma-separated deck of fault slugs, `+` combines slugs in one round, e.g.
 * `error-some+reorder,eta0,none`. Slugs: see FAULTS in chaos/fault-deck.ts.
 */

const options = parseChaosOptions();
const { seed, rounds } = options;
const random = mulberry32(seed);
const say = (line: string) => process.stdout.write(`[chaos] ${line}\n`);
// A reader that went away (EPIPE) must not kill the run before it stops its workers and moto.
process.stdout.on('error', () => undefined);

const nextCombo = makeDeck(options.faults, random);
const rig = await startRig({
  seed,
  random,
  workerBin: options.workerBin,
  dagsFolder: options.dagsFolder,
  say,
});
const ctx: ChaosContext = { rig, options, random, tally: newTally(), say };

let exitCode = 1;
let cleaned: Promise<void> | undefined;
/** Stops what this run started (workers, simulator, moto); also on SIGTERM/SIGINT, so nothing is orphaned. */
const cleanup = () => (cleaned ??= rig.stop(exitCode !== 0 || options.keepLogs));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the workers, the simulator and moto; logs kept in ${rig.workDir}`);
    void cleanup().finally(() => process.exit(1));
  });
}
try {
  say(
    `seed ${seed}, ${rounds} rounds, ${options.idCount} ids, ${options.workerCount} worker(s) at once, ` +
      `lost-event rate ${options.lostRate}, old-event redelivery rate ${options.redeliverRate}; logs in ${rig.workDir}`,
  );
  await rig.airflow.migrate();
  await waitStarted(startGeneration(ctx, 1));
  for (let round = 1; round <= rounds; round++) await runRound(ctx, round, nextCombo());

  say('converging: faults off, DAG runs until landing/ is empty and the catalog holds every newest value');
  await converge(ctx);
  // Quiet workers: nothing in flight, so the call bound is checked without slack.
  await rig.pool.stopAll('SIGTERM');
  const final = await checkOracle(rig.target, { final: true });
  ctx.tally.oracleChecks++;

  const { lines, pass } = summarize({
    rounds,
    workerCount: options.workerCount,
    tally: ctx.tally,
    ledger: rig.ledger,
    workerProcesses: rig.pool.processes.length,
    dagRuns: rig.airflow.runs,
    final,
    rejected: await rejectedValues(rig.clients.s3, rig.stack.syncedBucket),
    workDir: rig.workDir,
  });
  for (const line of lines) say(line);
  if (pass) exitCode = 0;
} finally {
  await cleanup();
}
process.exitCode = exitCode;
