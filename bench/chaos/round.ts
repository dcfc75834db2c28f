import { deploy, killOne, redeliverOld, upload } from './actions.ts';
import { pause, type ChaosContext } from './context.ts';
import { comboFaults, comboName } from './fault-deck.ts';
import { checkOracle } from './oracle.ts';
import { until } from './workers.ts';

/**
 * One chaos round: switch the simulator to the combo's faults, upload files with overlapping ids, maybe
 * deliver an old event again, then at a random moment SIGKILL a worker or roll out a new generation,
 * maybe run the DAG, and check what must always hold.
 */
export async function runRound(ctx: ChaosContext, round: number, combo: readonly string[]): Promise<void> {
  const { rig, random, tally, say } = ctx;
  const { sim, pool, airflow } = rig;
  sim.setFaults(comboFaults(combo, ctx.options.seed * 1000 + round));
  const roundStartSeq = sim.calls().at(-1)?.seq ?? 0;
  const label = combo.join('+');
  tally.faults.set(label, (tally.faults.get(label) ?? 0) + 1);
  const files = 1 + Math.floor(random() * 4);
  say(`round ${round}: fault "${comboName(combo)}", ${files} uploads`);
  for (let i = 0; i < files; i++) {
    // Gaps around the debounce quiet period (500 ms): some files share a flush, some get their own, so
    // batches holding the same products are in flight together.
    if (i > 0) await pause(Math.floor(random() < 0.4 ? random() * 300 : 600 + random() * 900));
    await upload(ctx, round);
  }
  if (random() < ctx.options.redeliverRate) await redeliverOld(ctx, round);
  // Act at a random moment of the workers' cycle: window open, flushing, polling…
  await pause(Math.floor(random() * 2500));
  const action = random();
  if (action < 0.45 && pool.live().length > 0) {
    await killOne(ctx, round);
  } else if (action < 0.7) {
    await deploy(ctx, random() < 0.25 ? 'SIGKILL' : 'SIGTERM');
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
    await deploy(ctx, 'SIGTERM');
  }
  if (random() < 0.5) await airflow.runDag(random() < 0.5 ? 2 : 61);
  await oracleBetweenRounds(ctx, round);
}

/** The oracle with slack for calls in flight; a problem is printed the first time it is seen. */
async function oracleBetweenRounds(ctx: ChaosContext, round: number): Promise<void> {
  const { tally, say } = ctx;
  tally.oracleChecks++;
  const report = await checkOracle(ctx.rig.target, { final: false, slack: ctx.rig.pool.live().length });
  if (report.ok) return;
  tally.oracleFailures++;
  say(`  ORACLE after round ${round}: ${report.problems.length} problem(s)`);
  for (const p of report.problems) {
    if (!tally.problemsSeen.has(p)) say(`    ${p}`);
    tally.problemsSeen.set(p, (tally.problemsSeen.get(p) ?? 0) + 1);
  }
}
