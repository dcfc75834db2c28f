import { expect } from 'chai';
import { CallBudget } from '../../src/meta/call-budget.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import type { BucUsage } from '../../src/meta/usage-header.ts';
import { clientFor, fakeClock, validItem, withSim, rejection } from './helpers.ts';

/**
 * A throttle that names no wait (80014 with estimated_time_to_regain_access 0) once stalled uploads for
 * an hour: the refusal's 100 % was taken as real usage, the budget then waited for our own first call to
 * leave the hour, and the capacity estimate collapsed to a dozen calls. These tests script that sequence
 * through the real client against the simulator, on one fake clock.
 */

const HOUR = 3_600_000;
const usage = (pct: number, etaMinutes = 0): BucUsage => ({ entries: [], pct, etaMinutes });

const eta0 = (times: number) => ({
  errors: [{ code: 80014, endpoint: 'items_batch' as const, times, etaMinutes: 0 }],
});

describe('meta: a throttle without a wait (80014, ETA 0)', () => {
  let sim: Simulator;
  let clock: ReturnType<typeof fakeClock>;
  beforeEach(async () => {
    clock = fakeClock();
    sim = await withSim({ now: clock.now }); // Meta's default 200 calls an hour
  });
  afterEach(() => sim.stop());

  const codes = () => sim.calls().map((c) => c.errorCode);

  it('is retried after the bounded backoff (5 s), and the capacity estimate does not collapse', async () => {
    const budget = new CallBudget({ hourlyCallBudget: 200, now: clock.now });
    const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, budget });
    for (let i = 0; i < 10; i++) await client.itemsBatch([validItem(`A${i}`)]);
    const before = budget.estimatedCapacity();
    expect(before).to.be.at.least(150);
    expect(clock.sleeps).to.deep.equal([]);

    sim.setFaults(eta0(1));
    const t0 = clock.t;
    expect((await client.itemsBatch([validItem('B')])).handle).to.be.a('string');
    expect(codes().slice(-2)).to.deep.equal([80014, null]);
    // The next attempt went after 5 s, not after our first call left the hour.
    expect(clock.sleeps).to.deep.equal([5_000]);
    expect(clock.t - t0).to.equal(5_000);
    // The refusal's 100 % taught the budget nothing.
    expect(budget.estimatedCapacity()).to.be.at.least(before! * 0.9);
    const next = budget.check();
    expect(next.waitMs).to.equal(0);
    expect(next.capacity).to.be.at.least(150);
    expect(client.budgetRemaining()).to.be.greaterThan(150);
  });

  it('refusals in a row double the wait up to 5 minutes; a success starts again from 5 s', async () => {
    const client = clientFor(sim, {
      sleep: clock.sleep,
      now: clock.now,
      maxRetries: 10,
      maxRetryWaitMs: HOUR,
      maxBudgetWaitMs: HOUR,
    });
    sim.setFaults(eta0(8));
    await client.itemsBatch([validItem('C')]);
    expect(clock.sleeps).to.deep.equal([5e3, 10e3, 20e3, 40e3, 80e3, 160e3, 300e3, 300e3]);
    sim.setFaults(eta0(1));
    await client.itemsBatch([validItem('D')]);
    expect(clock.sleeps.slice(8)).to.deep.equal([5e3]);
  });

  it('the backoff is configurable (throttleRetryMinMs / throttleRetryMaxMs)', async () => {
    const client = clientFor(sim, {
      sleep: clock.sleep,
      now: clock.now,
      maxRetries: 5,
      throttleRetryMinMs: 1_000,
      throttleRetryMaxMs: 4_000,
    });
    sim.setFaults(eta0(4));
    await client.itemsBatch([validItem('E')]);
    expect(clock.sleeps).to.deep.equal([1_000, 2_000, 4_000, 4_000]);
  });

  it('a refusal not held through is thrown with the backoff as retryAfterMs, and the next call goes after it', async () => {
    const client = clientFor(sim, {
      sleep: clock.sleep,
      now: clock.now,
      maxRetries: 0,
      maxBudgetWaitMs: 1_000,
    });
    await client.itemsBatch([validItem('F0')]);
    sim.setFaults(eta0(1));
    const refused = await rejection(client.itemsBatch([validItem('F')]));
    expect(refused).to.include({ kind: 'throttled', code: 80014, retryAfterMs: 5_000 });
    // What the worker sleeps on: seconds, not the ~3.5e6 ms it used to be.
    const held = await rejection(client.itemsBatch([validItem('F')]));
    expect(held).to.include({ kind: 'budget-exhausted', retryAfterMs: 5_000 });
    clock.advance(5_000);
    expect((await client.itemsBatch([validItem('F')])).handle).to.be.a('string');
    expect(codes()).to.deep.equal([null, 80014, null]);
  });

  it('a wait Meta names is still honoured (80014 with a 3-minute ETA)', async () => {
    const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, maxRetryWaitMs: 600_000 });
    sim.setFaults({ errors: [{ code: 80014, endpoint: 'items_batch', times: 1, etaMinutes: 3 }] });
    await client.itemsBatch([validItem('G')]);
    expect(clock.sleeps).to.deep.equal([180_000]);
  });

  it('a status read throttled without a wait backs off the same way (80009, ETA 0)', async () => {
    const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, maxRetries: 3 });
    const { handle } = await client.itemsBatch([validItem('H')]);
    sim.setFaults({ statusThrottle: { etaMinutes: 0, times: 2 } });
    await client.checkBatchStatus(handle!);
    expect(clock.sleeps).to.deep.equal([5_000, 10_000]);
  });
});

describe('meta: call budget learns only from trustworthy figures', () => {
  const at = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  it('refused(null) blocks for the bounded backoff, never until our calls leave the hour', () => {
    const c = at();
    const b = new CallBudget({ hourlyCallBudget: 200, now: c.now });
    b.record();
    b.observe(usage(1));
    c.t += 1000;
    b.record(); // the refused call
    expect(b.refused(null)).to.equal(5_000);
    expect(b.check()).to.include({ reason: 'blocked', waitMs: 5_000 });
    c.t += 5_000;
    expect(b.check().waitMs).to.equal(0);
    b.record();
    expect(b.refused(null)).to.equal(10_000);
    b.observe(null); // a success, even without a header, ends the run of refusals
    c.t += 10_000;
    b.record();
    expect(b.refused(null)).to.equal(5_000);
    expect(b.refused(120_000)).to.equal(120_000); // a wait Meta names is used as given
  });

  it('ignores a success whose percentage jumps implausibly (to 100 % in one call)', () => {
    const c = at();
    const b = new CallBudget({ hourlyCallBudget: 200, now: c.now });
    for (let pct = 1; pct <= 3; pct++) {
      b.record();
      b.observe(usage(pct));
      c.t += 60_000;
    }
    expect(b.estimatedCapacity()).to.equal(100);
    b.record();
    b.observe(usage(100));
    expect(b.estimatedCapacity()).to.equal(100);
    const d = b.check();
    expect(d.waitMs).to.be.below(HOUR / 100 + 1);
    expect(d.capacity).to.equal(100);
  });
});
