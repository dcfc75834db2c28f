import { manifestKey, payloadKey, shardKey, shardOf } from '../../src/contract/layout.ts';
import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { compareStamps } from '../../src/state/product-state.ts';
import { ProductStateStore } from '../../src/state/product-state-store.ts';
import { judge } from '../../src/state/send-gate.ts';
import { manifestErrors } from '../../src/worker/json-schemas.ts';
import { putJson } from '../../src/shared/s3-json.ts';
import { windowOf } from '../../src/shared/hours.ts';
import { Harness } from './harness.ts';

/** Records written by the version before the send gate still load, and are handled by today's rules. */
describe('worker: records written by the previous version (fixtures)', function () {
  this.timeout(60_000);
  let h: Harness;
  const fixture = (name: string) =>
    readFile(path.join(import.meta.dirname, '..', 'fixtures', 'legacy', name), 'utf8');

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('a state shard without open/version fields loads, and the gate judges against it', async () => {
    h = await Harness.create('w-legacy-state');
    const shard = JSON.parse(await fixture('state-shard.json')) as { products: Record<string, never> };
    const store = new ProductStateStore({
      s3: h.stack.clients.s3,
      bucket: h.stack.syncedBucket,
      syncedPrefix: 'synced/',
    });
    await putJson(h.stack.clients.s3, h.stack.syncedBucket, shardKey('synced/', shardOf('L1')), shard);
    const entry = (await store.read(['L1'])).get('L1')!;
    expect(entry).to.include({
      contentHash: '0123456789abcdef0123456789abcdef',
      sourceKey: 'landing/legacy.csv',
    });
    const same = {
      hash: entry.contentHash,
      stamp: { sourceTime: entry.sourceTime, sourceKey: entry.sourceKey, sequencer: entry.sequencer },
    };
    expect(judge(same, { entry, now: Date.now() })).to.deep.equal({ kind: 'unchanged', bumpStamp: false });
    const older = {
      hash: 'x',
      stamp: { sourceTime: entry.sourceTime - 5000, sourceKey: 'landing/legacy.csv', sequencer: null },
    };
    expect(judge(older, { entry, now: Date.now() })).to.deep.equal({ kind: 'older' });
    // A versioned row (VERSION_COLUMN set later) is newer than any unversioned state.
    expect(
      compareStamps({ version: 1, sourceTime: 0, sourceKey: 'a', sequencer: null }, entry),
    ).to.be.greaterThan(0);
  });

  it('a manifest the previous version called finished with items of unknown fate validates, is reopened by a re-check and completed', async () => {
    h = await Harness.create('w-legacy-manifest');
    const at = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const window = windowOf(Date.parse(at));
    const id = `${window.slice(0, 13)}-legacy-1`;
    const key = manifestKey('synced/', window, id);
    const pKey = payloadKey('synced/', id, 0);
    const text = (await fixture('manifest-finished-unknown.json'))
      .replaceAll('__ID__', id)
      .replaceAll('__WINDOW__', window)
      .replaceAll('__AT__', at)
      .replaceAll('__BUCKET__', h.stack.landingBucket)
      .replaceAll('__PAYLOAD__', pKey);
    const legacy = JSON.parse(text) as Manifest;
    expect(manifestErrors(legacy)).to.equal(null);
    const item = (n: number) => ({
      id: `LEG-${n}`,
      title: `Legacy ${n}`,
      description: 'd',
      availability: 'in stock',
      condition: 'new',
      price: '1.00 USD',
      link: `https://shop.example/${n}`,
      image_link: `https://shop.example/${n}.jpg`,
      brand: 'Acme',
    });
    const s3 = h.stack.clients.s3;
    await putJson(s3, h.stack.syncedBucket, pKey, {
      manifestId: id,
      batchIndex: 0,
      requests: [1, 2].map((n) => ({ method: 'UPDATE', data: item(n) })),
      origins: [1, 2].map((n) => ({ id: `LEG-${n}`, key: 'landing/legacy-export.csv', line: n + 1 })),
    });
    await putJson(s3, h.stack.syncedBucket, key, legacy);

    h.startWorker();
    await h.send(
      JSON.stringify({
        kind: 'catalog-sync.status-recheck',
        version: 1,
        manifestKey: key,
        sentAt: new Date().toISOString(),
      }),
    );
    await waitFor('legacy manifest finished with every item known', async () => {
      const m = await h.json<Manifest>(key);
      return m.state === 'finished' && m.counts.unknown === 0;
    });
    const done = await h.json<Manifest>(key);
    expect(done.batches.map((b) => [b.status, b.resubmitOf])).to.deep.equal([
      ['error', null],
      ['finished', 0],
    ]);
    expect(done.counts).to.include({ items: 2, accepted: 2, unknown: 0 });
    expect(h.logged('status re-check: finished manifest had items of unknown fate; reopened')).to.have.length(
      1,
    );
    expect([...h.products().keys()].sort()).to.deep.equal(['LEG-1', 'LEG-2']);
  });
});
