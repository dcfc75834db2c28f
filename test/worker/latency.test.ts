import { expect } from 'chai';
import { csv, Harness, ids } from './harness.ts';

/** Done-when 8: object created → items_batch accepted within the quiet period + 5 s. */
describe('worker: latency (moto + simulator)', function () {
  this.timeout(60_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('syncs a new file within the quiet period plus 5 s', async () => {
    const quietMs = 500;
    h = await Harness.create('w-lat', { DEBOUNCE_QUIET_MS: String(quietMs) });
    h.startWorker();
    // Warm up once (first S3/HTTP connections), then measure a second file.
    await h.upload('landing/warm.csv', csv(ids(1, 5)));
    await h.waitForFinishedManifests(1);
    const created = Date.now();
    await h.upload('landing/lat.csv', csv(ids(100, 1099).map((id) => ({ id, price: '3.50' }))));
    await h.waitForFinishedManifests(2);
    const accepted = h.itemsBatchCalls().find((c) => c.itemCount === 1000 && c.outcome === 'ok')!;
    const latencyMs = accepted.at + (accepted.durationMs ?? 0) - created;
    console.log(
      `      latency object created → items_batch accepted: ${latencyMs} ms (quiet period ${quietMs} ms)`,
    );
    expect(latencyMs).to.be.below(quietMs + 5000);
  });
});
