import type { BatchPayload } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import type { BatchStatus, CatalogClient } from '../../src/meta/types.ts';
import { csv, Harness, ids } from './harness.ts';

/** Flush paths the simulator cannot provoke on demand, with a fault in front of the real client. */
describe('worker: flush edge cases (moto + simulator)', function () {
  this.timeout(60_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('splits a batch Meta finds too large, recording the halves in the manifest', async () => {
    h = await Harness.create('w-split');
    const tooLarge = (c: CatalogClient): CatalogClient => ({
      ...c,
      payloadBytes: (items) => c.payloadBytes(items),
      budgetRemaining: () => c.budgetRemaining(),
      probe: (o) => c.probe(o),
      refreshCredentials: () => c.refreshCredentials(),
      checkBatchStatus: (handle, o) => c.checkBatchStatus(handle, o),
      itemsBatch: async (items, o) => {
        if (items.length > 30) {
          throw new GraphApiError({
            kind: 'payload-too-large',
            code: 1,
            message: 'Please reduce the amount of data',
          });
        }
        return c.itemsBatch(items, o);
      },
    });
    h.startWorker(undefined, tooLarge);
    await h.upload('landing/large.csv', csv(ids(1, 100)));
    const [m] = await h.waitForFinishedManifests(1);
    expect(h.products().size).to.equal(100);
    expect(m!.batches.map((b) => b.itemCount).sort()).to.deep.equal([25, 25, 25, 25]);
    expect(m!.counts).to.include({ items: 100, accepted: 100, calls: 4 });
    const sent = await Promise.all(m!.batches.map((b) => h.json<BatchPayload>(b.payloadKey)));
    expect(sent.flatMap((p) => p.requests.map((r) => r.data.id)).sort()).to.deep.equal(ids(1, 100).sort());
    sent.forEach((p, i) => expect(p.batchIndex).to.equal(m!.batches[i]!.index));
  });

  it('sends the items of a batch Meta ends in status error once more, and counts them by that second batch', async () => {
    h = await Harness.create('w-err');
    let first: string | null = null;
    const errorOnce = (c: CatalogClient): CatalogClient => ({
      ...c,
      payloadBytes: (items) => c.payloadBytes(items),
      budgetRemaining: () => c.budgetRemaining(),
      probe: (o) => c.probe(o),
      refreshCredentials: () => c.refreshCredentials(),
      itemsBatch: (items, o) => c.itemsBatch(items, o),
      checkBatchStatus: async (handle, o): Promise<BatchStatus> => {
        const status = await c.checkBatchStatus(handle, o);
        first ??= handle;
        if (handle === first && status.kind !== 'running') return { ...status, kind: 'error', raw: 'error' };
        return status;
      },
    });
    h.startWorker(undefined, errorOnce);
    await h.upload('landing/err.csv', csv(ids(1, 10)));
    const [m] = await h.waitForFinishedManifests(1);
    expect(m!.batches.map((b) => [b.status, b.resubmitOf])).to.deep.equal([
      ['error', null],
      ['finished', 0],
    ]);
    expect(m!.counts).to.include({ items: 10, accepted: 10, unknown: 0, calls: 2 });
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });
});
