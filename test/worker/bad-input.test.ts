import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { readDeadLetterReason } from '../../src/dead-letter.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import type { RowReader } from '../../src/worker/file-intake.ts';
import { csv, Harness, ids, realS3Event, type ProductRow } from './harness.ts';

interface RowsReport {
  kind: 'rows' | 'file';
  source: { key: string; etag: string };
  problem?: string;
  rejected: { line: number; id: string | null; reason: string }[];
}

/** Done-when 3 and 4: bad rows and bad files are reported; odd messages are acknowledged, never looped. */
describe('worker: bad input (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('a file with 20 bad rows among 80 good ones: 20 row reports with line and reason, 80 products', async () => {
    h = await Harness.create('w-bad');
    h.startWorker();
    const breakers: ((r: ProductRow) => ProductRow)[] = [
      (r) => ({ ...r, price: 'abc' }),
      (r) => ({ ...r, availability: 'maybe' }),
      (r) => ({ ...r, link: 'not a url' }),
      (r) => ({ ...r, title: '' }),
    ];
    const rows = ids(1, 100).map((id, i) => (i % 5 === 4 ? breakers[i % 4]!({ id }) : { id }));
    const { etag } = await h.upload('landing/mixed.csv', csv(rows));
    const [manifest] = await h.waitForFinishedManifests(1);
    expect(h.products().size).to.equal(80);
    expect(manifest!.sources[0]!.rows).to.include({ total: 100, valid: 80, rejected: 20 });
    expect(manifest!.counts).to.include({ items: 80, accepted: 80, rowsRejected: 20 });
    const reportKey = manifest!.sources[0]!.errorReportKey!;
    expect(reportKey).to.match(
      new RegExp(`^errors/rows/\\d{4}-\\d{2}-\\d{2}T\\d{2}/landing__mixed\\.csv\\.${etag}\\.json$`),
    );
    const report = await h.json<RowsReport>(reportKey);
    expect(report.kind).to.equal('rows');
    expect(report.rejected).to.have.length(20);
    // Header is line 1, so row i (0-based) is on line i + 2.
    expect(report.rejected.map((r) => r.line)).to.deep.equal(
      rows.flatMap((_, i) => (i % 5 === 4 ? [i + 2] : [])),
    );
    for (const r of report.rejected) {
      expect(r.id).to.match(/^SKU-\d+$/);
      expect(r.reason).to.be.a('string').and.not.equal('');
    }
  });

  it('TestEvent, encoded key with spaces and +, key outside the prefix, deleted object, non-UTF-8 and gzip files each take their path', async () => {
    h = await Harness.create('w-odd');
    const bucket = h.stack.landingBucket;
    // Deleted before the worker gets to it: its event is on the queue, the object is gone.
    await h.upload('landing/deleted.csv', csv([{ id: 'DEL-1' }]));
    await h.deleteObject('landing/deleted.csv');
    h.startWorker();

    await h.send(
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: new Date().toISOString(),
        Bucket: bucket,
      }),
    );
    // The real S3 shape of a key with a space and a plus: "landing/my+file%2Bv2.csv".
    const special = 'landing/my file+v2.csv';
    const { etag } = await h.upload(special, csv([{ id: 'SPECIAL-1', price: '7.00' }]));
    await h.send(realS3Event(bucket, special, { etag }));
    await h.send(realS3Event(bucket, 'elsewhere/outside.csv'));
    await h.send('this is not an S3 event');
    await h.upload(
      'landing/latin1.csv',
      Buffer.from(csv([{ id: 'LAT-1', title: 'Crème brûlée' }]), 'latin1'),
    );
    await h.upload('landing/packed.csv', gzipSync(csv([{ id: 'GZ-1' }])));

    await waitFor('the special key synced', async () => h.products().has('SPECIAL-1'));
    await waitFor('queue drained', async () => (await h.depth()) === 0, { timeoutMs: 30_000 });
    // Only the unparseable message went to the DLQ, at once, with its reason.
    const dead = await h.receiveAll(h.stack.dlqUrl);
    expect(dead.map((m) => m.Body)).to.deep.equal(['this is not an S3 event']);
    expect(readDeadLetterReason(dead[0]!.MessageAttributes)).to.include({
      kind: 'unparseable',
      receiveCount: 1,
    });
    expect(h.worker!.halted).to.equal(false);

    expect(h.logged('s3:TestEvent acknowledged').length).to.be.at.least(2); // moto's own and ours
    expect(h.logged('object skipped').map((e) => e.fileKey)).to.include('elsewhere/outside.csv');
    expect(h.logged('object skipped').find((e) => e.fileKey === 'elsewhere/outside.csv')!.reason).to.match(
      /outside the landing prefix/,
    );
    expect(h.logged('object no longer exists; acknowledged').map((e) => e.fileKey)).to.include(
      'landing/deleted.csv',
    );

    const wanted = [special, 'landing/latin1.csv', 'landing/packed.csv'];
    let sources: Manifest['sources'] = [];
    await waitFor('manifests of the three files finished', async () => {
      sources = (await h.manifests()).filter((m) => m.state === 'finished').flatMap((m) => m.sources);
      return wanted.every((k) => sources.some((s) => s.key === k));
    });
    const latin = sources.find((s) => s.key === 'landing/latin1.csv')!;
    const gz = sources.find((s) => s.key === 'landing/packed.csv')!;
    expect(latin.fileError).to.match(/^not-utf8/);
    expect(gz.fileError).to.match(/^gzip/);
    expect((await h.json<RowsReport>(latin.errorReportKey!)).problem).to.equal('not-utf8');
    expect((await h.json<RowsReport>(gz.errorReportKey!)).problem).to.equal('gzip');
    expect([...h.products().keys()]).to.deep.equal(['SPECIAL-1']);
  });

  it('a file that keeps failing for a transient reason is dead-lettered on its last receive, with the reason', async () => {
    h = await Harness.create('w-flaky', { MAX_RECEIVE_COUNT: '3' });
    // The landing read fails every time for this one file (think of a connection reset mid-stream).
    const flaky: RowReader = (stream, options) => {
      stream.destroy();
      return (async function* () {
        throw new Error('socket hang up while reading the object');
        yield* readProducts(stream, options);
      })();
    };
    h.startWorker(flaky);
    await h.upload('landing/flaky.csv', csv(ids(1, 3)));
    await waitFor('message dead-lettered', async () => (await h.depth(h.stack.dlqUrl)) === 1, {
      timeoutMs: 20_000,
    });
    const [dead] = await h.receiveAll(h.stack.dlqUrl);
    expect(readDeadLetterReason(dead!.MessageAttributes)).to.include({
      kind: 'transient-exhausted',
      receiveCount: 2,
    });
    expect(readDeadLetterReason(dead!.MessageAttributes)!.error).to.match(/socket hang up/);
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(h.itemsBatchCalls()).to.have.length(0);
  });
});
