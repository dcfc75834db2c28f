import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { csv, Harness, ids, TOKEN } from './harness.ts';

interface MetaReport {
  kind: 'meta';
  manifestId: string;
  rejected: { id: string; reason: string; batchIndex: number; key: string; line: number }[];
}

/** Done-when 6, and property 8: every item's outcome is known; the token is nowhere. */
describe('worker: outcomes and secrets (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it("records Meta's rejections with reasons, and the access token appears in no log line, manifest or report", async () => {
    h = await Harness.create('w-sec');
    h.sim.setFaults({ rejectIdPattern: '^REJ-' });
    h.startWorker();
    const rows = [...ids(1, 10), 'REJ-1', 'REJ-2', { id: 'BAD-1', price: 'free' }];
    await h.upload('landing/sec.csv', csv(rows));
    const [manifest] = await h.waitForFinishedManifests(1);
    expect(manifest!.counts).to.include({
      items: 12,
      accepted: 10,
      rejected: 2,
      unknown: 0,
      rowsRejected: 1,
    });
    expect(manifest!.batches[0]!.status).to.equal('finished');
    const report = await h.json<MetaReport>(manifest!.errorReportKeys[0]!);
    expect(report.kind).to.equal('meta');
    expect(report.rejected.map((r) => [r.id, r.key, r.line])).to.deep.equal([
      ['REJ-1', 'landing/sec.csv', 12],
      ['REJ-2', 'landing/sec.csv', 13],
    ]);
    for (const r of report.rejected) expect(r.reason).to.be.a('string').and.not.equal('');

    // The simulator echoes the token in its invalid-token message, as Meta echoes malformed ones.
    h.sim.setFaults({ invalidToken: true });
    await h.upload('landing/sec2.csv', csv(ids(11, 12)));
    await waitFor('the halt', async () => h.worker!.halted);

    expect(h.lines.length).to.be.greaterThan(10);
    expect(h.lines.join('\n')).to.not.include(TOKEN);
    const keys = await h.keys('');
    expect(keys.some((k) => k.startsWith('synced/manifests/'))).to.equal(true);
    expect(keys.some((k) => k.startsWith('synced/batches/'))).to.equal(true);
    if (h.config.stateStore === 's3') expect(keys.some((k) => k.startsWith('synced/state/'))).to.equal(true);
    expect(keys.some((k) => k.startsWith('errors/rows/'))).to.equal(true);
    expect(keys.some((k) => k.startsWith('errors/meta/'))).to.equal(true);
    for (const key of keys) expect(await h.text(key), key).to.not.include(TOKEN);
  });
});
