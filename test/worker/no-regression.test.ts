import { ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { decodeS3Key } from '../../src/worker/queue-message.ts';
import { csv, Harness, ids } from './harness.ts';

/** Done-when 2: data from an older file never overwrites a newer one. */
describe('worker: no regression (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  /** Takes the S3 event messages off the queue (the worker is not running yet), keyed by object key. */
  async function takeEvents(count: number): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await waitFor(`${count} S3 events`, async () => {
      const res = await h.stack.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: h.stack.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const m of res.Messages ?? []) {
        const body = JSON.parse(m.Body!) as { Records?: { s3: { object: { key: string } } }[] };
        const key = body.Records?.[0]?.s3.object.key;
        if (key) out.set(decodeS3Key(key), m.Body!);
        await h.stack.clients.sqs.send(
          new DeleteMessageCommand({ QueueUrl: h.stack.queueUrl, ReceiptHandle: m.ReceiptHandle! }),
        );
      }
      return out.size >= count;
    });
    return out;
  }

  it('an older file (export-9, same second as export-10: numeric-aware key order) delivered after a newer one, as a redelivery or as a straggler, changes nothing', async () => {
    h = await Harness.create('w-reg');
    await h.upload(
      'landing/export-9.csv',
      csv(ids(1, 30).map((id) => ({ id, price: '1.00', title: `old ${id}` }))),
    );
    await h.upload(
      'landing/export-10.csv',
      csv(ids(1, 30).map((id) => ({ id, price: '2.00', title: `new ${id}` }))),
    );
    const events = await takeEvents(2);

    // The newer file's event comes first.
    h.startWorker();
    await h.send(events.get('landing/export-10.csv')!);
    await h.waitForFinishedManifests(1);
    expect(h.itemsBatchCalls()).to.have.length(1);

    // Then the older file's own event (a late delivery) …
    await h.send(events.get('landing/export-9.csv')!);
    await h.waitForFinishedManifests(2);
    // … and the DAG's straggler message for it.
    await h.send(
      JSON.stringify({
        kind: 'catalog-sync.straggler',
        version: 1,
        bucket: h.stack.landingBucket,
        key: 'landing/export-9.csv',
        etag: null,
        reason: 'no-manifest',
        sentAt: new Date().toISOString(),
      }),
    );
    const manifests = await h.waitForFinishedManifests(3);
    expect(h.itemsBatchCalls()).to.have.length(1);
    const products = h.products();
    for (const id of ids(1, 30))
      expect(products.get(id)).to.include({ price: '2.00 USD', title: `new ${id}` });
    const olderRuns = manifests.filter((m) => m.sources[0]!.key === 'landing/export-9.csv');
    expect(olderRuns).to.have.length(2);
    for (const m of olderRuns) {
      expect(m.sources[0]!.rows.older).to.equal(30);
      expect(m.counts.items).to.equal(0);
    }
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });
});
