import { inspect } from 'node:util';
import { expect } from 'chai';
import { freePort } from '../../tools/local-aws/moto-server.ts';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import { createCatalogClient } from '../../src/meta/items-batch-client.ts';
import type { Simulator, SimulatorFaults } from '../../tools/simulator/index.ts';
import type { GraphErrorKind } from '../../src/meta/types.ts';
import {
  APP_SECRET,
  CATALOG,
  TOKEN,
  capturingLogger,
  clientFor,
  fakeClock,
  validItem,
  withSim,
  rejection,
} from './helpers.ts';

const graphCalls = (sim: Simulator) =>
  sim.calls().filter((c) => c.endpoint === 'items_batch' || c.endpoint === 'check_batch_request_status');

describe('meta catalog client (against the simulator over HTTP)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await withSim();
  });
  beforeEach(() => sim.reset());
  after(() => sim.stop());

  describe('requests', () => {
    it('sends PRODUCT_ITEM UPDATE upserts as JSON, the token only in the Authorization header', async () => {
      const seen: { url: string; headers: Headers; body: string }[] = [];
      const client = clientFor(sim, {
        fetch: async (input, init) => {
          seen.push({
            url: String(input),
            headers: new Headers(init?.headers),
            body: String(init?.body ?? ''),
          });
          return fetch(input, init);
        },
      });
      const items = [validItem('SKU-1'), validItem('SKU-2')];
      const accepted = await client.itemsBatch(items);
      expect(accepted.handle).to.be.a('string');
      expect(accepted.validation).to.deep.equal([]);
      const status = await client.checkBatchStatus(accepted.handle!);

      expect(seen).to.have.length(2);
      for (const s of seen) {
        expect(s.url).to.not.include(TOKEN);
        expect(s.url).to.not.include('access_token');
        expect(s.headers.get('authorization')).to.equal(`Bearer ${TOKEN}`);
      }
      expect(seen[0]!.url).to.equal(`${sim.url}/v26.0/${CATALOG}/items_batch`);
      expect(JSON.parse(seen[0]!.body)).to.deep.equal({
        item_type: 'PRODUCT_ITEM',
        allow_upsert: true,
        requests: items.map((data) => ({ method: 'UPDATE', data })),
      });
      const q = new URL(seen[1]!.url).searchParams;
      expect(q.get('handle')).to.equal(accepted.handle);
      expect(q.get('load_ids_of_invalid_requests')).to.equal('true');
      expect(status).to.include({ kind: 'finished', raw: 'finished', errorsTotal: 0 });
      expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['SKU-1', 'SKU-2']);
    });

    it('payloadBytes is exactly the body the simulator receives', async () => {
      const client = clientFor(sim);
      const items = [validItem('B-1', { title: 'Crème brûlée ☕' }), validItem('B-2')];
      await client.itemsBatch(items);
      expect(sim.calls()[0]!.bytes).to.equal(client.payloadBytes(items));
    });

    it('returns typed statuses: running, then finished with 3 of 10 invalid, every id listed', async () => {
      const clock = fakeClock();
      const slow = await withSim({ processingDelayMs: 1000, now: clock.now, errorSampleSize: 2 });
      try {
        const client = clientFor(slow);
        const items = Array.from({ length: 10 }, (_, i) => validItem(`SKU-${i}`));
        items[1]!.price = '1';
        items[4]!.availability = 'in_stock';
        items[7]!.condition = 'mint';
        const accepted = await client.itemsBatch(items);
        expect(accepted.validation.map((v) => v.id)).to.deep.equal(['SKU-1', 'SKU-4', 'SKU-7']);
        expect(accepted.validation[0]!.errors[0]).to.match(/price/);
        const running = await client.checkBatchStatus(accepted.handle!);
        expect(running).to.deep.equal({ kind: 'running', handle: accepted.handle, raw: 'dispatched' });
        clock.advance(1000);
        const done = await client.checkBatchStatus(accepted.handle!);
        if (done.kind === 'running') throw new Error('still running');
        expect(done.kind).to.equal('finished');
        expect(done.errorsTotal).to.equal(3);
        expect(done.errors).to.have.length(2); // a sample
        expect(done.errors[0]).to.deep.include({ id: 'SKU-1', line: 1 });
        expect(done.invalidIds).to.have.members(['SKU-1', 'SKU-4', 'SKU-7']);
        expect(slow.products(CATALOG)).to.have.length(7);
      } finally {
        await slow.stop();
      }
    });

    it('reports a null handle when Meta ingested nothing, with the first-pass problems', async () => {
      const accepted = await clientFor(sim).itemsBatch([validItem('X', { price: 'free', hue: 'red' })]);
      expect(accepted.handle).to.equal(null);
      expect(accepted.validation).to.have.length(1);
      expect(accepted.validation[0]!.id).to.equal('X');
      expect(accepted.validation[0]!.errors).to.have.length(1);
      expect(accepted.validation[0]!.warnings[0]).to.match(/hue/);
    });

    it('reports an `error` batch as final with kind error', async () => {
      sim.setFaults({ batchErrorRate: 1 });
      const client = clientFor(sim);
      const { handle } = await client.itemsBatch([validItem('E')]);
      expect(await client.checkBatchStatus(handle!)).to.include({ kind: 'error', raw: 'error' });
    });

    it('sends appsecret_proof when an app secret is configured', async () => {
      const strict = await withSim({ appSecret: APP_SECRET });
      try {
        const ok = await clientFor(strict, { appSecret: APP_SECRET }).itemsBatch([validItem('P')]);
        await clientFor(strict, { appSecret: APP_SECRET }).checkBatchStatus(ok.handle!);
        const err = await rejection(clientFor(strict).itemsBatch([validItem('P')]));
        // A missing proof is a credentials problem (the worker halts), not a bad request.
        expect(err).to.include({ kind: 'auth', code: 100 });
        expect(graphCalls(strict)).to.have.length(3); // not retried
      } finally {
        await strict.stop();
      }
    });

    it('refuses, before any HTTP, more items than batchMaxItems, a body over maxPayloadBytes, or no id', async () => {
      const client = clientFor(sim, { batchMaxItems: 3, maxPayloadBytes: 2000 });
      const four = [1, 2, 3, 4].map((i) => validItem(`I${i}`));
      expect((await rejection(client.itemsBatch(four))).kind).to.equal('payload-too-large');
      const big = [validItem('I1', { description: 'x'.repeat(3000) })];
      expect(client.payloadBytes(big)).to.be.greaterThan(2000);
      const err = await rejection(client.itemsBatch(big));
      expect(err).to.include({ kind: 'payload-too-large', attempts: 0 });
      expect((await rejection(client.itemsBatch([{ id: '' }]))).kind).to.equal('invalid-parameter');
      expect((await rejection(client.itemsBatch([]))).kind).to.equal('invalid-parameter');
      const over5000 = clientFor(sim, { batchMaxItems: 10_000 });
      const many = Array.from({ length: 5001 }, (_, i) => ({ id: `M${i}` }));
      expect((await rejection(over5000.itemsBatch(many))).kind).to.equal('payload-too-large');
      expect(sim.calls()).to.have.length(0);
    });
  });

  describe('error classes', () => {
    interface Case {
      name: string;
      faults: SimulatorFaults;
      kind: GraphErrorKind;
      code: number | null;
      subcode?: number;
      status?: boolean;
    }
    const once = (code: number, extra: object = {}) => ({ errors: [{ code, times: 1, ...extra }] });
    const retried: Case[] = [
      {
        name: '80014 catalog batch throttle',
        faults: { throttle: { times: 1 } },
        kind: 'throttled',
        code: 80014,
      },
      { name: '4 app throttle', faults: once(4), kind: 'throttled', code: 4 },
      { name: '17 user throttle', faults: once(17), kind: 'throttled', code: 17 },
      { name: '32 page throttle', faults: once(32), kind: 'throttled', code: 32 },
      { name: '613 custom throttle', faults: once(613), kind: 'throttled', code: 613 },
      { name: '80004 BUC throttle', faults: once(80004), kind: 'throttled', code: 80004 },
      { name: '2 temporary', faults: once(2), kind: 'transient', code: 2 },
      {
        name: '80009 on status reads',
        faults: { statusThrottle: { times: 1 } },
        kind: 'throttled',
        code: 80009,
        status: true,
      },
      {
        name: '1 on status reads (unknown, not size)',
        faults: once(1, { endpoint: 'check_batch_request_status' }),
        kind: 'transient',
        code: 1,
        status: true,
      },
    ];
    for (const c of retried) {
      it(`${c.name}: ${c.kind}, retried, then succeeds`, async () => {
        const clock = fakeClock();
        const { logger, text } = capturingLogger();
        const client = clientFor(sim, {
          sleep: clock.sleep,
          now: clock.now,
          logger,
          maxRetryWaitMs: 3_600_000,
        });
        let handle: string | null = null;
        if (c.status) handle = (await client.itemsBatch([validItem('R')])).handle;
        sim.setFaults(c.faults);
        if (c.status) await client.checkBatchStatus(handle!);
        else expect((await client.itemsBatch([validItem('R')])).handle).to.be.a('string');
        const calls = graphCalls(sim).slice(c.status ? 1 : 0);
        expect(calls.map((x) => x.errorCode)).to.deep.equal([c.code, null]);
        expect(clock.sleeps).to.have.length(1);
        const logged = text();
        expect(logged).to.include('retrying').and.include(`"kind":"${c.kind}"`);
      });
    }

    const final: Case[] = [
      { name: '1 on items_batch', faults: once(1), kind: 'payload-too-large', code: 1 },
      { name: '190 invalid token', faults: { invalidToken: true }, kind: 'auth', code: 190, subcode: 463 },
      {
        name: '190/460 password changed',
        faults: once(190, { subcode: 460 }),
        kind: 'auth',
        code: 190,
        subcode: 460,
      },
      { name: '102 session', faults: once(102), kind: 'auth', code: 102 },
      { name: '10 permission', faults: once(10), kind: 'permission', code: 10 },
      { name: '200 permission', faults: once(200), kind: 'permission', code: 200 },
      { name: '299 permission', faults: once(299), kind: 'permission', code: 299 },
      { name: '100 invalid parameter', faults: once(100), kind: 'invalid-parameter', code: 100 },
      {
        name: '100 under HTTP 500 (seen in the wild)',
        faults: once(100, { httpStatus: 500 }),
        kind: 'invalid-parameter',
        code: 100,
      },
      { name: 'an unknown code', faults: once(12345), kind: 'unknown', code: 12345 },
    ];
    for (const c of final) {
      it(`${c.name}: ${c.kind}, never retried`, async () => {
        const clock = fakeClock();
        const client = clientFor(sim, { sleep: clock.sleep, now: clock.now });
        sim.setFaults(c.faults);
        const err = await rejection(client.itemsBatch([validItem('F')]));
        expect(err).to.include({ kind: c.kind, code: c.code, endpoint: 'items_batch', attempts: 1 });
        if (c.subcode) expect(err.subcode).to.equal(c.subcode);
        expect(err.httpStatus).to.be.a('number');
        expect(err.fbtraceId).to.be.a('string');
        expect(err.retryable).to.equal(false);
        expect(graphCalls(sim)).to.have.length(1);
        expect(clock.sleeps).to.deep.equal([]);
      });
    }

    it('a bare HTTP 503 without a Graph body is transient, retried up to maxRetries, then thrown', async () => {
      const clock = fakeClock();
      sim.setFaults({ serverErrorRate: 1 });
      const err = await rejection(
        clientFor(sim, { sleep: clock.sleep, maxRetries: 2 }).itemsBatch([validItem('S')]),
      );
      expect(err).to.include({ kind: 'transient', code: null, httpStatus: 503, attempts: 3 });
      expect(graphCalls(sim)).to.have.length(3);
      expect(clock.sleeps).to.have.length(2);
    });

    it('code 2 every time: gives up after maxRetries with the last error', async () => {
      sim.setFaults({ code2Rate: 1 });
      const err = await rejection(clientFor(sim, { maxRetries: 3 }).itemsBatch([validItem('S')]));
      expect(err).to.include({ kind: 'transient', code: 2, attempts: 4 });
      expect(graphCalls(sim)).to.have.length(4);
    });

    it('a network failure is transient and retried', async () => {
      const port = await freePort();
      const clock = fakeClock();
      const client = clientFor({ url: `http://127.0.0.1:${port}` }, { sleep: clock.sleep, maxRetries: 2 });
      const err = await rejection(client.itemsBatch([validItem('N')]));
      expect(err).to.include({ kind: 'transient', httpStatus: null, attempts: 3 });
      expect(err.message).to.match(/network error/);
    });

    it('a response slower than requestTimeoutMs is transient', async () => {
      sim.setFaults({ latencyMs: 300 });
      const client = clientFor(sim, { requestTimeoutMs: 60, maxRetries: 1 });
      const err = await rejection(client.itemsBatch([validItem('T')]));
      expect(err).to.include({ kind: 'transient', attempts: 2 });
      expect(err.message).to.match(/no response within 60 ms/);
    });

    it('an aborted signal stops the call without retrying', async () => {
      sim.setFaults({ latencyMs: 300 });
      const controller = new AbortController();
      const pending = clientFor(sim).itemsBatch([validItem('A')], { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      let caught: unknown;
      try {
        await pending;
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(Error);
      expect((caught as Error).name).to.equal('AbortError');
      expect(caught).to.not.be.instanceOf(GraphApiError);
    });
  });

  describe('backoff', () => {
    it('grows exponentially with jitter between half and all of the step, capped', async () => {
      for (const [r, expected] of [
        [0, [500, 1000, 2000, 2500]],
        [0.999, [1000, 1999, 3998, 4998]],
      ] as const) {
        sim.reset();
        const clock = fakeClock();
        sim.setFaults({ errors: [{ code: 2, times: 4 }] });
        const client = clientFor(sim, {
          sleep: clock.sleep,
          random: () => r,
          maxRetries: 5,
          retryBaseMs: 1000,
          retryMaxDelayMs: 5000,
        });
        await client.itemsBatch([validItem('B')]);
        expect(clock.sleeps).to.deep.equal(expected);
      }
    });

    it('waits at least the minutes the usage header asks for (80014 with ETA 2 min)', async () => {
      const clock = fakeClock();
      sim.setFaults({ throttle: { etaMinutes: 2, times: 1 } });
      const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, maxRetryWaitMs: 600_000 });
      await client.itemsBatch([validItem('W')]);
      expect(clock.sleeps).to.have.length(1);
      expect(clock.sleeps[0]).to.be.at.least(120_000);
      expect(graphCalls(sim).map((c) => c.errorCode)).to.deep.equal([80014, null]);
    });

    it('waits at least the header ETA on a status read too (80009 with ETA 3 min)', async () => {
      const clock = fakeClock();
      const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, maxRetryWaitMs: 600_000 });
      const { handle } = await client.itemsBatch([validItem('W')]);
      sim.setFaults({ statusThrottle: { etaMinutes: 3, times: 1 } });
      await client.checkBatchStatus(handle!);
      expect(clock.sleeps).to.deep.equal([180_000]);
    });

    it('does not hold a call through a wait over maxRetryWaitMs: throws with retryAfterMs, and the budget remembers', async () => {
      const clock = fakeClock();
      sim.setFaults({ throttle: { etaMinutes: 10, times: 1 } });
      const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, maxRetryWaitMs: 60_000 });
      const err = await rejection(client.itemsBatch([validItem('W')]));
      expect(err).to.include({ kind: 'throttled', code: 80014, retryAfterMs: 600_000 });
      expect(clock.sleeps).to.deep.equal([]);
      // Meta said 10 minutes: the next call is refused without HTTP.
      const again = await rejection(client.itemsBatch([validItem('W')]));
      expect(again.kind).to.equal('budget-exhausted');
      expect(again.retryAfterMs).to.equal(600_000);
      expect(graphCalls(sim)).to.have.length(1);
      clock.advance(600_000);
      expect((await client.itemsBatch([validItem('W')])).handle).to.be.a('string');
    });
  });

  describe('call budget', () => {
    it('slows down before Meta refuses: a 10-call hourly quota is never hit with 80014', async () => {
      const clock = fakeClock();
      const quota = await withSim({ hourlyCallBudget: 10, now: clock.now });
      try {
        const client = clientFor(quota, {
          sleep: clock.sleep,
          now: clock.now,
          hourlyCallBudget: 200, // we think we have more than Meta gives: the header must save us
          maxBudgetWaitMs: 2 * 3_600_000,
        });
        const sleepsBefore: number[][] = [];
        for (let i = 0; i < 12; i++) {
          sleepsBefore.push([...clock.sleeps]);
          await client.itemsBatch([validItem(`Q${i}`)]);
        }
        expect(quota.calls().map((c) => c.errorCode)).to.deep.equal(Array(12).fill(null));
        expect(sleepsBefore[7]).to.deep.equal([]); // the first 8 calls go at once
        // From 80 % on, calls are paced at the sustainable rate (an hour / 10 calls)...
        expect(clock.sleeps.slice(0, 2)).to.deep.equal([360_000, 360_000]);
        // ...and at 100 % the next call waits for the first one to leave the hour.
        expect(clock.sleeps[2]).to.equal(3_600_000 - 2 * 360_000);
        expect(clock.t - fakeClock().t).to.be.at.least(3_600_000);
      } finally {
        await quota.stop();
      }
    });

    it('throws budget-exhausted with retryAfterMs, before any HTTP, when the wait is over the cap', async () => {
      const clock = fakeClock();
      const quota = await withSim({ hourlyCallBudget: 10, now: clock.now });
      try {
        const client = clientFor(quota, { sleep: clock.sleep, now: clock.now, maxBudgetWaitMs: 60_000 });
        for (let i = 0; i < 8; i++) await client.itemsBatch([validItem(`Q${i}`)]);
        expect(client.budgetRemaining()).to.equal(2);
        const err = await rejection(client.itemsBatch([validItem('Q8')]));
        expect(err).to.include({ kind: 'budget-exhausted', retryAfterMs: 360_000, attempts: 0 });
        expect(quota.calls()).to.have.length(8);
        expect(clock.sleeps).to.deep.equal([]);
      } finally {
        await quota.stop();
      }
    });

    it('keeps its own rolling count of items_batch calls against hourlyCallBudget', async () => {
      const clock = fakeClock();
      const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, hourlyCallBudget: 3 });
      const remaining = [client.budgetRemaining()];
      for (let i = 0; i < 3; i++) {
        await client.itemsBatch([validItem(`L${i}`)]);
        remaining.push(client.budgetRemaining());
        clock.advance(60_000);
      }
      expect(remaining).to.deep.equal([3, 2, 1, 0]);
      const err = await rejection(client.itemsBatch([validItem('L3')]));
      expect(err.kind).to.equal('budget-exhausted');
      expect(err.retryAfterMs).to.equal(3_600_000 - 3 * 60_000);
      // Status reads are a different bucket and are not limited by this budget.
      const handle = sim.calls()[0]!.handle!;
      await client.checkBatchStatus(handle);
      clock.advance(err.retryAfterMs!);
      expect(client.budgetRemaining()).to.equal(1);
      await client.itemsBatch([validItem('L3')]);
    });

    it('shares one budget between concurrent calls: they take turns', async () => {
      const clock = fakeClock();
      const client = clientFor(sim, { sleep: clock.sleep, now: clock.now, hourlyCallBudget: 2 });
      const results = await Promise.allSettled([1, 2, 3].map((i) => client.itemsBatch([validItem(`C${i}`)])));
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected']);
      expect(graphCalls(sim)).to.have.length(2);
    });
  });

  describe('secrets', () => {
    it('never puts the token or app secret in logs, error messages or serialized errors', async () => {
      const { logger, text } = capturingLogger();
      // This simulator accepts another token, so it answers "Malformed access token <ours>".
      const other = await withSim({ accessToken: 'another-token-entirely', appSecret: APP_SECRET });
      const strict = await withSim({ appSecret: APP_SECRET });
      const errors: GraphApiError[] = [];
      const opts = { logger, appSecret: APP_SECRET, maxRetries: 1 };
      try {
        errors.push(await rejection(clientFor(other, opts).itemsBatch([validItem('S')])));
        strict.setFaults({ invalidToken: true });
        errors.push(await rejection(clientFor(strict, opts).itemsBatch([validItem('S')])));
        strict.setFaults({ code2Rate: 1 });
        errors.push(await rejection(clientFor(strict, opts).checkBatchStatus('AcSomething')));
        strict.setFaults({
          errors: [{ code: 100, message: `(#100) bad token ${TOKEN} and secret ${APP_SECRET}` }],
        });
        errors.push(await rejection(clientFor(strict, opts).itemsBatch([validItem('S')])));
        strict.setFaults({});
        await clientFor(strict, opts).itemsBatch([validItem('S')]);
        const port = await freePort();
        errors.push(
          await rejection(clientFor({ url: `http://127.0.0.1:${port}` }, opts).itemsBatch([validItem('S')])),
        );
      } finally {
        await other.stop();
        await strict.stop();
      }
      expect(errors.map((e) => e.kind)).to.deep.equal([
        'auth',
        'auth',
        'transient',
        'invalid-parameter',
        'transient',
      ]);
      expect(errors[0]!.message).to.include('Malformed access token [REDACTED]');
      const logged = text();
      expect(logged).to.include('graph call failed');
      expect(logged).to.include('graph call'); // success lines too
      for (const secret of [TOKEN, APP_SECRET]) {
        expect(logged).to.not.include(secret);
        for (const e of errors) {
          for (const view of [
            e.message,
            String(e),
            e.stack ?? '',
            JSON.stringify(e),
            inspect(e, { depth: 5 }),
          ]) {
            expect(view).to.not.include(secret);
          }
        }
      }
    });

    it('needs a token', () => {
      expect(() => clientFor(sim, { accessToken: '' })).to.throw(/accessToken/);
      expect(createCatalogClient).to.be.a('function');
    });
  });
});
