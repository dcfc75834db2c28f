import { expect } from 'chai';
import type { SimHistoryEntry, Simulator } from '../../tools/simulator/index.ts';
import { parseBucUsage } from '../../src/meta/usage-header.ts';
import { CATALOG, errorOf, fakeClock, getStatus, postBatch, upserts, validItem, withSim } from './helpers.ts';

/**
 * The simulator's faults for ordering and outcome questions, and its per-product history: batches that
 * end in `error` after applying none, some or all of their items; batches processed out of order; an
 * 80014 that names no wait (ETA 0). The clock is injected, so processing happens exactly when a test
 * steps it.
 */
describe('meta simulator: ordering and outcome faults, history', () => {
  let sim: Simulator;
  const clock = fakeClock();
  const DELAY = 1000;

  before(async () => {
    sim = await withSim({ now: clock.now, processingDelayMs: DELAY });
  });
  beforeEach(() => sim.reset());
  after(() => sim.stop());

  const priced = (id: string, price: number) => validItem(id, { price: `${price}.00 USD` });

  async function accept(items: Record<string, unknown>[]): Promise<string> {
    const res = await postBatch(sim, upserts(items));
    expect(res.status, JSON.stringify(res.json)).to.equal(200);
    return (res.json.handles as string[])[0]!;
  }

  const priceOf = (id: string) => sim.products(CATALOG).find((p) => p.id === id)?.price;

  describe('history', () => {
    it('records every application in order, with the applied fields, the batch handle and the time', async () => {
      const h1 = await accept([priced('H1', 1), priced('H2', 2)]);
      clock.advance(DELAY);
      const h2 = await accept([priced('H1', 3)]);
      clock.advance(DELAY);
      const all = sim.history(CATALOG);
      expect(all.map((e) => [e.id, e.fields.price, e.handle])).to.deep.equal([
        ['H1', '1.00 USD', h1],
        ['H2', '2.00 USD', h1],
        ['H1', '3.00 USD', h2],
      ]);
      expect(all.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
      expect(all[0]).to.include({ catalogId: CATALOG, method: 'UPDATE', batchStatus: 'finished' });
      expect(all[0]!.at).to.be.at.least(all[0]!.submittedAt + DELAY);
      expect(all[0]!.time).to.equal(new Date(all[0]!.at).toISOString());
      expect(all[0]!.fields).to.include({ id: 'H1', title: 'Product H1', brand: 'Acme' });
      expect(sim.history(CATALOG, 'H1').map((e) => e.fields.price)).to.deep.equal(['1.00 USD', '3.00 USD']);
      expect(sim.history('other-catalog')).to.deep.equal([]);
    });

    it('is served at GET /_admin/history (filters catalog, id, since), listed by GET /_admin, and reset', async () => {
      await accept([priced('A', 1), priced('B', 1)]);
      clock.advance(DELAY);
      const get = async (q: string) => {
        const res = await fetch(`${sim.url}/_admin/history${q}`);
        expect(res.status).to.equal(200);
        return ((await res.json()) as { history: SimHistoryEntry[] }).history;
      };
      expect(await get('')).to.have.length(2);
      expect((await get(`?catalog=${CATALOG}&id=B`)).map((e) => e.id)).to.deep.equal(['B']);
      expect((await get('?since=1')).map((e) => e.seq)).to.deep.equal([2]);
      expect(await get('?catalog=nope')).to.deep.equal([]);
      const index = (await (await fetch(`${sim.url}/_admin`)).json()) as { admin: string[] };
      expect(index.admin).to.include('GET /_admin/history[?catalog=&id=&since=]');
      sim.reset();
      expect(await get('')).to.deep.equal([]);
    });

    it('records a DELETE, and not an item that failed validation or processing', async () => {
      await accept([priced('D', 1)]);
      clock.advance(DELAY);
      const res = await postBatch(sim, {
        item_type: 'PRODUCT_ITEM',
        requests: [
          { method: 'DELETE', data: { id: 'D' } },
          { method: 'UPDATE', data: { id: 'NEW', price: '1.00 USD' } }, // incomplete insert: fails late
          { method: 'UPDATE', data: { ...validItem('BAD'), price: 'cheap' } }, // first-pass error
        ],
      });
      expect(res.status).to.equal(200);
      clock.advance(DELAY);
      expect(sim.history(CATALOG).map((e) => [e.id, e.method])).to.deep.equal([
        ['D', 'UPDATE'],
        ['D', 'DELETE'],
      ]);
      expect(sim.history(CATALOG).at(-1)!.fields).to.deep.equal({});
    });
  });

  describe('batchError', () => {
    it('apply none, list none: status error, nothing applied, no invalid ids (the batchErrorRate shape)', async () => {
      sim.setFaults({ batchError: { times: 1 } });
      const handle = await accept([priced('N1', 1), priced('N2', 1)]);
      clock.advance(DELAY);
      const { node } = await getStatus(sim, handle);
      expect(node).to.include({ status: 'error', errors_total_count: 0 });
      expect(node.ids_of_invalid_requests).to.deep.equal([]);
      expect(sim.products(CATALOG)).to.deep.equal([]);
      expect(sim.history(CATALOG)).to.deep.equal([]);
      // `times` spent: the next batch is fine.
      const next = await accept([priced('N1', 2)]);
      clock.advance(DELAY);
      expect((await getStatus(sim, next)).node.status).to.equal('finished');
      expect(sim.faults().batchError).to.deep.equal({ times: 0 });
    });

    it('apply all: every item applied although the batch ends in error (history says so)', async () => {
      sim.setFaults({ batchError: { apply: 'all' } });
      const handle = await accept([priced('A1', 5), priced('A2', 6)]);
      clock.advance(DELAY);
      const { node } = await getStatus(sim, handle);
      expect(node.status).to.equal('error');
      expect(node.ids_of_invalid_requests).to.deep.equal([]);
      expect(priceOf('A1')).to.equal('5.00 USD');
      expect(priceOf('A2')).to.equal('6.00 USD');
      expect(sim.history(CATALOG).map((e) => [e.id, e.batchStatus])).to.deep.equal([
        ['A1', 'error'],
        ['A2', 'error'],
      ]);
    });

    it('apply some, list all: a proper subset applied, exactly the others named invalid with a reason', async () => {
      sim.setFaults({ batchError: { apply: 'some', listInvalid: 'all' }, seed: 7 });
      const ids = Array.from({ length: 12 }, (_, i) => `S${i}`);
      const handle = await accept(ids.map((id) => priced(id, 1)));
      clock.advance(DELAY);
      const { node } = await getStatus(sim, handle);
      const applied = sim.products(CATALOG).map((p) => p.id);
      expect(node.status).to.equal('error');
      expect(applied.length).to.be.within(1, ids.length - 1);
      const invalid = node.ids_of_invalid_requests as string[];
      expect([...invalid].sort()).to.deep.equal(ids.filter((id) => !applied.includes(id)).sort());
      const errors = node.errors as { message: string }[];
      expect(errors[0]!.message).to.match(/not applied: its batch ended in error/);
    });

    it('apply some, list some: the listed ids are a subset of the unapplied ones; the same seed decides alike', async () => {
      const run = async () => {
        sim.reset();
        sim.setFaults({ batchError: { apply: 'some', listInvalid: 'some' }, seed: 11 });
        const ids = Array.from({ length: 16 }, (_, i) => `L${i}`);
        const handle = await accept(ids.map((id) => priced(id, 1)));
        clock.advance(DELAY);
        const { node } = await getStatus(sim, handle);
        const applied = sim.products(CATALOG).map((p) => p.id);
        const invalid = node.ids_of_invalid_requests as string[];
        for (const id of invalid) expect(applied).to.not.include(id);
        expect(invalid.length).to.be.below(ids.length - applied.length);
        return { applied, invalid };
      };
      expect(await run()).to.deep.equal(await run());
    });

    it('a single-item batch with apply some applies it or not (a coin), rate draws from the seed', async () => {
      sim.setFaults({ batchError: { rate: 0.5, apply: 'some' }, seed: 3 });
      const statuses: string[] = [];
      for (let i = 0; i < 12; i++) {
        const handle = await accept([priced(`C${i}`, 1)]);
        clock.advance(DELAY);
        statuses.push(String((await getStatus(sim, handle)).node.status));
      }
      expect(statuses).to.include.members(['error', 'finished']);
    });

    it('refuses unknown options and values', async () => {
      for (const bad of [
        { batchError: { apply: 'most' } },
        { batchError: { listInvalid: 1 } },
        { batchError: { rate: 2 } },
        { batchError: { when: 'now' } },
        { batchError: 'yes' },
      ]) {
        const res = await fetch(`${sim.url}/_admin/faults`, { method: 'POST', body: JSON.stringify(bad) });
        expect(res.status, JSON.stringify(bad)).to.equal(400);
      }
    });
  });

  describe('reorderBatches', () => {
    it('a held batch is applied after a batch accepted later: the product goes backwards, as at Meta', async () => {
      sim.setFaults({ reorderBatches: { holdMs: 5000, times: 1 } });
      const first = await accept([priced('R', 1)]);
      clock.advance(100);
      const second = await accept([priced('R', 2)]);
      clock.advance(DELAY);
      expect(priceOf('R')).to.equal('2.00 USD');
      expect((await getStatus(sim, first)).node.status).to.not.equal('finished');
      expect((await getStatus(sim, second)).node.status).to.equal('finished');
      clock.advance(5000);
      expect(priceOf('R')).to.equal('1.00 USD');
      expect(sim.history(CATALOG, 'R').map((e) => [e.fields.price, e.handle])).to.deep.equal([
        ['2.00 USD', second],
        ['1.00 USD', first],
      ]);
      const batches = (await (await fetch(`${sim.url}/_admin/batches`)).json()) as {
        batches: { handle: string; due_at: string }[];
      };
      const dueOf = (h: string) => Date.parse(batches.batches.find((b) => b.handle === h)!.due_at);
      expect(dueOf(first)).to.be.greaterThan(dueOf(second));
    });

    it('applies due batches in the order of their due times even when looked at only once', async () => {
      sim.setFaults({ reorderBatches: { holdMs: 3000, times: 1 } });
      await accept([priced('O', 1)]);
      clock.advance(10);
      await accept([priced('O', 2)]);
      clock.advance(10_000); // nobody looked in between
      expect(sim.history(CATALOG, 'O').map((e) => e.fields.price)).to.deep.equal(['2.00 USD', '1.00 USD']);
    });

    it('without the fault, batches apply in acceptance order', async () => {
      await accept([priced('P', 1)]);
      clock.advance(10);
      await accept([priced('P', 2)]);
      clock.advance(10_000);
      expect(sim.history(CATALOG, 'P').map((e) => e.fields.price)).to.deep.equal(['1.00 USD', '2.00 USD']);
      expect(priceOf('P')).to.equal('2.00 USD');
    });

    it('random holds stay within holdMs, and rate/times limit which batches are held', async () => {
      sim.setFaults({ reorderBatches: { holdMs: 4000, random: true, rate: 0.5 }, seed: 5 });
      for (let i = 0; i < 10; i++) await accept([priced(`Q${i}`, 1)]);
      const batches = (await (await fetch(`${sim.url}/_admin/batches`)).json()) as {
        batches: { submitted_at: string; due_at: string }[];
      };
      const extra = batches.batches.map((b) => Date.parse(b.due_at) - Date.parse(b.submitted_at) - DELAY);
      for (const e of extra) expect(e).to.be.within(0, 4000);
      expect(extra.filter((e) => e === 0).length).to.be.within(1, 9);
      const res = await fetch(`${sim.url}/_admin/faults`, {
        method: 'POST',
        body: JSON.stringify({ reorderBatches: { random: true } }),
      });
      expect(res.status).to.equal(400);
    });
  });

  describe('80014 with ETA 0', () => {
    it('throttle with etaMinutes 0: refused with 80014 and a usage header at 100 % naming no wait, once', async () => {
      sim.setFaults({ throttle: { etaMinutes: 0, times: 1 } });
      const refused = await postBatch(sim, upserts([priced('T', 1)]));
      expect(errorOf(refused.json)).to.include({ code: 80014, is_transient: true });
      const raw = refused.headers.get('x-business-use-case-usage');
      expect(raw).to.be.a('string');
      const entry = Object.values(JSON.parse(raw!) as Record<string, Record<string, unknown>[]>)[0]![0]!;
      expect(entry).to.include({ call_count: 100, estimated_time_to_regain_access: 0 });
      expect(parseBucUsage(raw)).to.include({ pct: 100, etaMinutes: 0 });
      expect((await postBatch(sim, upserts([priced('T', 1)]))).status).to.equal(200);
    });

    it('an injected 80014 with etaMinutes 0 says the same', async () => {
      sim.setFaults({ errors: [{ code: 80014, endpoint: 'items_batch', etaMinutes: 0, times: 1 }] });
      const refused = await postBatch(sim, upserts([priced('T', 1)]));
      expect(errorOf(refused.json).code).to.equal(80014);
      expect(parseBucUsage(refused.headers.get('x-business-use-case-usage'))).to.include({ etaMinutes: 0 });
    });
  });
});
