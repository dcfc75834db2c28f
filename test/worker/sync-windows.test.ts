import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { csv, Harness, ids } from './harness.ts';

/** Done-when 1: one call per window, the newest values win, unchanged rows cost nothing. */
describe('worker: windows and calls (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('three files with overlapping ids in one window cost one items_batch call; the newest values win', async () => {
    h = await Harness.create('w1', { DEBOUNCE_QUIET_MS: '1500' });
    h.startWorker();
    // ids 1-50 v1, 25-75 v2, 50-100 v3: every id ends with the value of the newest file holding it.
    await h.upload('landing/f1.csv', csv(ids(1, 50).map((id) => ({ id, price: '1.00' }))));
    await h.upload('landing/f2.csv', csv(ids(25, 75).map((id) => ({ id, price: '2.00' }))));
    await h.upload('landing/f3.csv', csv(ids(50, 100).map((id) => ({ id, price: '3.00' }))));
    const [manifest] = await h.waitForFinishedManifests(1);
    expect(h.itemsBatchCalls()).to.have.length(1);
    expect(manifest!.sources.map((s) => s.key).sort()).to.deep.equal([
      'landing/f1.csv',
      'landing/f2.csv',
      'landing/f3.csv',
    ]);
    expect(manifest!.counts).to.include({ items: 100, accepted: 100, rejected: 0, unknown: 0, calls: 1 });
    const products = h.products();
    expect(products.size).to.equal(100);
    for (const id of ids(1, 24)) expect(products.get(id)!.price).to.equal('1.00 USD');
    for (const id of ids(25, 49)) expect(products.get(id)!.price).to.equal('2.00 USD');
    for (const id of ids(50, 100)) expect(products.get(id)!.price).to.equal('3.00 USD');
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });

  it('12,000 changed rows cost exactly 3 calls; uploading the same file again costs none', async () => {
    h = await Harness.create('w2');
    h.startWorker();
    const body = csv(ids(1, 12_000).map((id) => ({ id, price: '5.00' })));
    await h.upload('landing/big.csv', body);
    const [first] = await h.waitForFinishedManifests(1, 60_000);
    expect(h.itemsBatchCalls().map((c) => c.itemCount)).to.deep.equal([5000, 5000, 2000]);
    expect(first!.counts).to.include({ items: 12_000, accepted: 12_000, calls: 3 });
    expect(h.products().size).to.equal(12_000);
    // Payloads are spliced from the spooled JSON and measured from spooled lengths: the bytes the
    // manifest records for each batch are the bytes Meta received for it.
    const received = new Map(h.itemsBatchCalls().map((c) => [c.handle, c.bytes]));
    expect(first!.batches.map((b) => b.payloadBytes)).to.deep.equal(
      first!.batches.map((b) => (b.status === 'unsent' ? null : received.get(b.handle))),
    );

    await h.upload('landing/big.csv', body);
    const manifests = await h.waitForFinishedManifests(2, 60_000);
    expect(h.itemsBatchCalls()).to.have.length(3);
    const second = manifests.find((m) => m.manifestId !== first!.manifestId)!;
    expect(second.counts).to.include({ items: 0, calls: 0 });
    expect(second.sources[0]!.rows).to.include({ valid: 12_000, unchanged: 12_000 });
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });

  it('holds messages past their visibility timeout until the window flushes, and receives each once', async () => {
    h = await Harness.create('w-hold', { VISIBILITY_TIMEOUT_S: '2', DEBOUNCE_QUIET_MS: '7000' });
    h.startWorker();
    const started = Date.now();
    await h.upload('landing/held.csv', csv(ids(1, 10)));
    await h.waitForFinishedManifests(1);
    // Held for the whole quiet period (3.5 visibility timeouts) without SQS delivering it again.
    expect(Date.now() - started).to.be.at.least(7000);
    expect(h.logged('file read into window')).to.have.length(1);
    expect(h.itemsBatchCalls()).to.have.length(1);
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });
});

describe('worker: what Meta did not take is retried when the same row comes again', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('an item Meta rejected is sent again by an identical re-upload once the cause is fixed', async () => {
    h = await Harness.create('w-retry', { DEBOUNCE_QUIET_MS: '500' });
    h.sim.setFaults({ rejectIdPattern: '^SKU-2$' });
    h.startWorker();
    const body = csv(ids(1, 3).map((id) => ({ id, price: '4.00' })));
    await h.upload('landing/r1.csv', body);
    const [first] = await h.waitForFinishedManifests(1);
    expect(first!.counts).to.include({ items: 3, accepted: 2, rejected: 1 });
    expect(h.products().has('SKU-2')).to.equal(false);

    // Same content again: the two accepted rows are unchanged, the rejected one is tried once more.
    h.sim.setFaults({});
    await h.upload('landing/r2.csv', body);
    const manifests = await h.waitForFinishedManifests(2);
    const second = manifests.find((m) => m.manifestId !== first!.manifestId)!;
    expect(second.counts).to.include({ items: 1, accepted: 1, calls: 1 });
    expect(second.sources[0]!.rows).to.include({ valid: 3, unchanged: 2 });
    expect(h.products().get('SKU-2')?.price).to.equal('4.00 USD');
  });
});
