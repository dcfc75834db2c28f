import { manifestKey, payloadKey } from '../../src/contract/layout.ts';
import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { putJson } from '../../src/shared/s3-json.ts';
import { windowOf } from '../../src/shared/hours.ts';
import { CATALOG, Harness, TOKEN } from './harness.ts';

/** The DAG's status re-check: a manifest submitted long ago is polled to its final state. */
describe('worker: status re-check (moto + simulator)', function () {
  this.timeout(60_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('polls the handles of a re-checked manifest to final and acknowledges the message', async () => {
    h = await Harness.create('w-recheck');
    // A batch that an earlier run sent and never followed up (three hours ago: outside start-up resume).
    const items = [
      {
        id: 'OLD-1',
        title: 'Old one',
        description: 'd',
        availability: 'in stock',
        condition: 'new',
        price: '1.00 USD',
        link: 'https://shop.example/1',
        image_link: 'https://shop.example/1.jpg',
        brand: 'Acme',
      },
      {
        id: 'OLD-2',
        title: 'Old two',
        description: 'd',
        availability: 'in stock',
        condition: 'new',
        price: '2.00 USD',
        link: 'https://shop.example/2',
        image_link: 'https://shop.example/2.jpg',
        brand: 'Acme',
      },
    ];
    const res = await fetch(`${h.sim.url}/v26.0/${CATALOG}/items_batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        item_type: 'PRODUCT_ITEM',
        requests: items.map((data) => ({ method: 'UPDATE', data })),
      }),
    });
    const handle = ((await res.json()) as { handles: string[] }).handles[0]!;
    const window = windowOf(Date.now() - 3 * 3_600_000);
    const id = `${window.slice(0, 13)}-recheck-1`;
    const key = manifestKey('synced/', window, id);
    const at = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const manifest: Manifest = {
      schemaVersion: 1,
      manifestId: id,
      window,
      state: 'submitted',
      createdAt: at,
      updatedAt: at,
      submittedAt: at,
      finishedAt: null,
      catalogId: CATALOG,
      sources: [],
      batches: [
        {
          index: 0,
          itemCount: 2,
          payloadKey: payloadKey('synced/', id, 0),
          payloadBytes: null,
          handle,
          status: 'running',
          attempts: 1,
          resubmitOf: null,
          submittedAt: at,
          checkedAt: null,
        },
      ],
      counts: { items: 2, accepted: 0, rejected: 0, unknown: 2, rowsRejected: 0, calls: 1 },
      errorReportKeys: [],
    };
    const s3 = h.stack.clients.s3;
    await putJson(s3, h.stack.syncedBucket, payloadKey('synced/', id, 0), {
      manifestId: id,
      batchIndex: 0,
      requests: items.map((data) => ({ method: 'UPDATE', data })),
      origins: items.map((i, n) => ({ id: i.id, key: 'landing/old.csv', line: n + 2 })),
    });
    await putJson(s3, h.stack.syncedBucket, key, manifest);

    h.startWorker();
    const recheck = (manifestKey: string) =>
      JSON.stringify({
        kind: 'catalog-sync.status-recheck',
        version: 1,
        manifestKey,
        sentAt: new Date().toISOString(),
      });
    await h.send(recheck(key));
    await h.send(recheck('synced/manifests/2000-01-01T00/missing.json'));
    await waitFor('manifest finished', async () => (await h.json<Manifest>(key)).state === 'finished');
    const done = await h.json<Manifest>(key);
    expect(done.counts).to.include({ items: 2, accepted: 2, unknown: 0 });
    expect(done.batches[0]).to.include({ status: 'finished', handle });
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(h.logged('status re-check for a manifest that does not exist; acknowledged')).to.have.length(1);
    expect(h.itemsBatchCalls()).to.have.length(1); // only the one this test made
  });
});
