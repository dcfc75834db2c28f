import { manifestKey } from '../../src/contract/layout.ts';
import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { putJson } from '../../src/shared/s3-json.ts';
import { windowOf } from '../../src/shared/hours.ts';
import { CATALOG, csv, Harness, ids } from './harness.ts';

/** A pending manifest left by a crashed flush is marked abandoned when its file is processed again. */
describe('worker: abandoned manifests (moto + simulator)', function () {
  this.timeout(60_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('marks an earlier pending manifest of the same file version abandoned when a straggler re-processes it', async () => {
    h = await Harness.create('w-aband');
    const key = 'landing/again.csv';
    const { etag } = await h.upload(key, csv(ids(1, 5)));
    const window = windowOf(Date.now());
    const id = `${window.slice(0, 13)}-crashed-1`;
    const stale = manifestKey('synced/', window, id);
    const at = new Date(Date.now() - 10 * 60_000).toISOString();
    const crashed: Manifest = {
      schemaVersion: 1,
      manifestId: id,
      window,
      state: 'pending',
      createdAt: at,
      updatedAt: at,
      submittedAt: null,
      finishedAt: null,
      catalogId: CATALOG,
      sources: [
        {
          bucket: h.stack.landingBucket,
          key,
          etag,
          versionId: null,
          sequencer: null,
          eventTime: at,
          size: null,
          fileError: null,
          errorReportKey: null,
          rows: { total: 5, valid: 5, rejected: 0, unchanged: 0, older: 0, superseded: 0 },
        },
      ],
      batches: [],
      counts: { items: 5, accepted: 0, rejected: 0, unknown: 5, rowsRejected: 0, calls: 0 },
      errorReportKeys: [],
    };
    await putJson(h.stack.clients.s3, h.stack.syncedBucket, stale, crashed);
    // The S3 event (first delivery) syncs the file; the DAG's straggler message then re-processes it.
    h.startWorker();
    await waitFor('first sync', async () => h.products().size === 5);
    await h.send(
      JSON.stringify({
        kind: 'catalog-sync.straggler',
        version: 1,
        bucket: h.stack.landingBucket,
        key,
        etag,
        reason: 'never-submitted',
        sentAt: new Date().toISOString(),
      }),
    );
    await waitFor(
      'stale manifest abandoned',
      async () => (await h.json<Manifest>(stale)).state === 'abandoned',
    );
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(h.itemsBatchCalls()).to.have.length(1);
  });
});
