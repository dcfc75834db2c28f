import { expect } from 'chai';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { csv, Harness, ids } from './harness.ts';

/** Done-when 5: throttling and 5xx delay but lose nothing; a refused token stops submissions, once. */
describe('worker: rate limits and outages (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('a storm of throttling and 5xx answers delays the sync but loses nothing', async () => {
    h = await Harness.create('w-storm');
    // 80014 without a usage header (so the client's budget does not close for the hour), plus bare 5xx.
    h.sim.setFaults({
      errors: [{ code: 80014, endpoint: 'items_batch', times: 5, etaMinutes: 0.01 }],
      serverErrorRate: 0.4,
      seed: 3,
    });
    h.startWorker();
    await h.upload('landing/s1.csv', csv(ids(1, 150).map((id) => ({ id, price: '4.00' }))));
    await h.upload('landing/s2.csv', csv(ids(100, 200).map((id) => ({ id, price: '6.00' }))));
    await waitFor('all products in the catalog', async () => h.products().size === 200, {
      timeoutMs: 60_000,
    });
    await waitFor('queue drained', async () => (await h.depth()) === 0, { timeoutMs: 30_000 });

    const calls = h.itemsBatchCalls();
    const refused = calls.filter((c) => c.outcome === 'error');
    expect(refused.filter((c) => c.errorCode === 80014)).to.have.length(5);
    expect(refused.length).to.be.greaterThan(5);
    expect(calls.filter((c) => c.outcome === 'ok').length).to.be.at.least(1);
    const products = h.products();
    for (const id of ids(1, 99)) expect(products.get(id)!.price).to.equal('4.00 USD');
    for (const id of ids(100, 200)) expect(products.get(id)!.price).to.equal('6.00 USD');
    expect(
      h.logged('items_batch not accepted; keeping the files held and retrying').length,
    ).to.be.greaterThan(0);
    h.sim.setFaults({});
    const manifests = await h.waitForFinishedManifests(1);
    const accepted = manifests.reduce((n, m) => n + m.counts.accepted, 0);
    expect(accepted).to.be.at.least(200);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
  });

  it('an invalid token stops submissions with one clear log line and no retry storm; the work stays queued', async () => {
    h = await Harness.create('w-auth', { AUTH_ALERT_INTERVAL_MS: '1000' });
    h.sim.setFaults({ invalidToken: true });
    h.startWorker();
    await h.upload('landing/a1.csv', csv(ids(1, 20)));
    await waitFor('the halt', async () => h.worker!.halted);
    const haltedAt = Date.now();
    // More files after the halt: the worker no longer receives, so they cost no calls.
    await h.upload('landing/a2.csv', csv(ids(21, 40)));
    await h.upload('landing/a3.csv', csv(ids(41, 60)));
    // An observation window: the calls made must stay at one, whatever time passes.
    await delay(2500);
    const elapsed = Date.now() - haltedAt;

    expect(h.itemsBatchCalls()).to.have.length(1);
    expect(h.itemsBatchCalls()[0]!.errorCode).to.equal(190);
    const alarms = h.logged(/^SUBMISSIONS HALTED/);
    expect(alarms.length)
      .to.be.at.least(2)
      .and.at.most(Math.ceil(elapsed / 1000) + 1);
    expect(alarms[0]).to.include({
      level: 'error',
      alert: 'meta-credentials-refused',
      errorKind: 'auth',
      code: 190,
    });
    // Nothing lost: the three files' messages are on the queue, none in the DLQ.
    await waitFor('messages back on the queue', async () => (await h.depth()) === 3);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
    // The refused flush sent nothing: its manifest is abandoned (it holds no file back from archiving).
    const manifests = await h.manifests();
    expect(manifests.map((m) => m.state)).to.deep.equal(['abandoned']);

    // Fixed configuration + restart: everything goes through.
    await h.worker!.stop();
    h.sim.setFaults({});
    h.startWorker();
    await waitFor('all products in the catalog', async () => h.products().size === 60, { timeoutMs: 30_000 });
    await waitFor('queue drained', async () => (await h.depth()) === 0, { timeoutMs: 30_000 });
  });
});
