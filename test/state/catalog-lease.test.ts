import { expect } from 'chai';
import { CallBudget } from '../../src/meta/call-budget.ts';
import { CatalogLease, LeaseLostError } from '../../src/state/catalog-lease.ts';
import { ProductStateStore } from '../../src/state/product-state-store.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';

/** The per-catalog lease on moto's S3: one holder at a time, fencing tokens, and a paused holder fenced off. */
describe('catalog lease (moto)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await deployTestStack('lease');
  });

  const lease = (catalogId: string, ttlMs: number, now?: () => number) =>
    new CatalogLease({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: 'synced/',
      catalogId,
      ttlMs,
      ...(now ? { now } : {}),
    });

  it('a second worker waits until the first releases, and gets the next fencing token', async () => {
    const first = await lease('c1', 10_000).acquire();
    let secondGot = false;
    const second = lease('c1', 10_000)
      .acquire()
      .then((held) => {
        secondGot = true;
        return held;
      });
    // The waiter polls; give it several polls while the lease is held.
    for (let i = 0; i < 5; i++) await first.ensure(1000);
    expect(secondGot).to.equal(false);
    await first.release();
    const held = await second;
    expect(held.token).to.equal(first.token + 1);
    await held.release();
  });

  it('a holder that stalls past its expiry loses the lease: its signal aborts, it cannot act, and its state writes are refused', async () => {
    // The stalled holder's clock is frozen, so it renews with the expiry it wrote first: as a paused process would.
    const frozenAt = Date.now();
    const stalled = await lease('c2', 600, () => frozenAt).acquire();
    const taker = await lease('c2', 600).acquire(); // waits for the expiry in real time
    expect(taker.token).to.equal(stalled.token + 1);

    const store = new ProductStateStore({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: 'synced/c2/',
    });
    const entry = (contentHash: string) => ({
      contentHash,
      sourceTime: Date.now(),
      sourceKey: 'landing/a.csv',
      sequencer: null,
      manifestKey: 'M',
      batchIndex: 0,
      decidedAt: Date.now(),
      open: true,
    });
    await store.merge(new Map([['P1', { kind: 'decided', entry: entry('new') }]]), undefined, taker.token);
    let refused: unknown = null;
    try {
      await store.merge(
        new Map([['P1', { kind: 'decided', entry: entry('stale') }]]),
        undefined,
        stalled.token,
      );
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(LeaseLostError);
    expect((await store.read(['P1'])).get('P1')).to.include({ contentHash: 'new' });

    // Its next renewal finds the lease taken: it stops, and ensure() refuses to act. On a busy machine
    // that renewal can come while the merges above run: an abort already signalled has no event left.
    if (!stalled.signal.aborted) {
      await new Promise<void>((resolve) =>
        stalled.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    let ensured: unknown = null;
    await stalled.ensure(0).catch((err: unknown) => (ensured = err));
    expect(ensured).to.be.instanceOf(LeaseLostError);
    await stalled.release();
    await taker.release();
  });

  it('hands the hour of items_batch calls from holder to holder, so N tasks share one quota', async () => {
    const budgetA = new CallBudget({ hourlyCallBudget: 3 });
    const budgetB = new CallBudget({ hourlyCallBudget: 3 });
    const shared = (b: CallBudget) => ({
      load: (t: readonly number[]) => b.adopt(t),
      save: () => b.callTimes(),
    });
    const a = await new CatalogLease({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: 'synced/',
      catalogId: 'c3',
      ttlMs: 10_000,
      sharedCalls: shared(budgetA),
    }).acquire();
    const t = Date.now();
    budgetA.record(t - 2);
    budgetA.record(t - 1);
    budgetA.record(t);
    await a.release();
    expect(budgetB.check().waitMs).to.equal(0);
    const b = await new CatalogLease({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: 'synced/',
      catalogId: 'c3',
      ttlMs: 10_000,
      sharedCalls: shared(budgetB),
    }).acquire();
    expect(budgetB.callTimes()).to.deep.equal([t - 2, t - 1, t]);
    // B's own budget is now spent by A's calls: its next call waits for the first of them to leave the hour.
    expect(budgetB.check()).to.include({ reason: 'local-budget' });
    expect(budgetB.check().waitMs).to.be.greaterThan(3_500_000);
    await b.release();
  });
});
