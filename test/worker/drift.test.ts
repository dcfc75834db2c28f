import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, waitFor } from '../../tools/local-aws/moto-server.ts';
import type { DriftReport } from '../../src/drift/report.ts';
import { CATALOG, csv, Harness } from './harness.ts';

/**
 * Drift reconciliation end to end (moto + simulator): items are edited, deleted and added at the
 * simulator out of band, the DAG's drift-check message reaches the worker, which reads the catalog back
 * (cursor paging), puts it back in step through the send gate and reports every item with its class,
 * the differing fields and the calls spent; orphans are reported, or deleted when configured, a capped
 * number per check and only after a check that announced them.
 */

const driftCheck = (dryRun = false) =>
  JSON.stringify({ kind: 'catalog-sync.drift-check', version: 1, dryRun, sentAt: new Date().toISOString() });

describe('worker: drift reconciliation against the live catalog (moto + simulator)', function () {
  this.timeout(120_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  async function admin(method: string, p: string, body?: unknown): Promise<void> {
    const res = await fetch(`${h.sim.url}/_admin/products/${CATALOG}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${p}: ${await res.clone().text()}`).to.equal(200);
  }

  /** Sends a drift check and returns its report (the n-th one written). */
  async function check(n: number, dryRun = false): Promise<{ key: string; report: DriftReport }> {
    await h.send(driftCheck(dryRun));
    await waitFor(`drift report ${n}`, async () => (await h.keys('synced/drift/')).length >= n, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const key = (await h.keys('synced/drift/')).sort()[n - 1]!;
    const report = await h.json<DriftReport>(key);
    if (report.repairManifestKey) {
      await waitFor(
        'the repair manifest finished',
        async () => (await h.json<Manifest>(report.repairManifestKey!)).state === 'finished',
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
    }
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    return { key, report };
  }

  const byId = (r: DriftReport) => new Map(r.items.map((i) => [i.id, i]));

  it('edits, deletions and additions out of band are found; the catalog is back in step, orphans reported, calls counted', async () => {
    h = await Harness.create('w-drift', { DRIFT_PAGE_SIZE: '2' });
    h.startWorker();
    await h.upload('landing/d.csv', csv(['D1', 'D2', 'D3', 'D4', 'D5']));
    await h.waitForFinishedManifests(1);
    await admin('PATCH', '/D1', { price: '1.00 USD' });
    await admin('PATCH', '/D2', { title: 'Renamed in Commerce Manager' });
    await admin('DELETE', '/D3');
    await admin('POST', '', {
      id: 'ORPHAN-1',
      title: 'Added by hand',
      description: 'Not from any file',
      availability: 'in stock',
      condition: 'new',
      price: '3.00 USD',
      link: 'https://shop.example/p/o1',
      image_link: 'https://shop.example/p/o1.jpg',
      brand: 'Acme',
    });
    const callsBefore = h.itemsBatchCalls().length;

    // A dry run reports and sends nothing.
    const dry = await check(1, true);
    expect(dry.report.dryRun).to.equal(true);
    expect(byId(dry.report).get('D1')!.action).to.equal('would-resend');
    expect(dry.report.repairManifestKey).to.equal(null);
    expect(h.itemsBatchCalls()).to.have.length(callsBefore);

    const { key, report } = await check(2);
    expect(report.counts).to.deep.equal({
      inStep: 2,
      stale: 2,
      missing: 1,
      orphan: 1,
      unverified: 0,
      inFlight: 0,
      notAccepted: 0,
    });
    expect(report.inStep).to.deep.equal(['D4', 'D5']);
    const items = byId(report);
    expect(items.get('D1')).to.deep.include({
      class: 'stale',
      action: 'resent',
      fields: [{ field: 'price', sent: '9.99 USD', meta: '$1.00' }],
    });
    expect(items.get('D2')).to.deep.include({
      class: 'stale',
      action: 'resent',
      fields: [{ field: 'title', sent: 'Product D2', meta: 'Renamed in Commerce Manager' }],
    });
    expect(items.get('D3')).to.include({ class: 'missing', action: 'resent' });
    expect(items.get('ORPHAN-1')).to.include({ class: 'orphan', action: 'reported' });
    // 6 items at 2 a page: 3 listing pages (4 after the deletion and addition: still 3), one look-up of D3.
    expect(report.calls).to.deep.equal({ reads: 3, lookups: 1, itemsBatch: 1, deletes: 0 });
    expect(report.listing).to.include({ complete: true, items: 5 });

    // Back in step: what was sent, again, through the send gate with the original source stamps.
    const p = h.products();
    expect(p.get('D1')).to.include({ price: '9.99 USD' });
    expect(p.get('D2')).to.include({ title: 'Product D2' });
    expect(p.has('D3')).to.equal(true);
    expect(p.has('ORPHAN-1')).to.equal(true);
    const repair = await h.json<Manifest>(report.repairManifestKey!);
    expect(repair).to.include({ driftReport: key, state: 'finished' });
    expect(repair.sources).to.deep.equal([]);
    expect(repair.counts).to.include({ items: 3, accepted: 3, unknown: 0, calls: 1 });
    expect(h.itemsBatchCalls()).to.have.length(callsBefore + 1);

    // status shows the newest check.
    const { stdout } = await promisify(execFile)(path.join(repoRoot, 'bin', 'catalog-sync'), ['status'], {
      env: {
        ...process.env,
        SYNCED_BUCKET: h.stack.syncedBucket,
        QUEUE_URL: h.stack.queueUrl,
        AWS_REGION: 'us-east-1',
      },
    });
    expect(stdout).to.include('2 in step, 2 stale, 1 missing at Meta, 1 orphans');
    expect(stdout).to.include('calls: 3 listing pages, 1 look-ups, 1 items_batch, 0 deletions');
    expect(stdout).to.include('D1  stale, resent: price "9.99 USD" at us, "$1.00" at Meta');

    // The next check finds the catalog in step; the orphan stays reported.
    const after = await check(3);
    expect(after.report.counts).to.include({ inStep: 5, stale: 0, missing: 0, orphan: 1 });
    expect(after.report.calls.itemsBatch).to.equal(0);
  });

  it('with DRIFT_DELETE_ORPHANS, an orphan announced by one check is deleted by the next, DRIFT_DELETE_MAX a check', async () => {
    h = await Harness.create('w-orphans', { DRIFT_DELETE_ORPHANS: 'true', DRIFT_DELETE_MAX: '1' });
    h.startWorker();
    await h.upload('landing/d.csv', csv(['D1']));
    await h.waitForFinishedManifests(1);
    for (const id of ['O1', 'O2']) {
      await admin('POST', '', {
        id,
        title: id,
        description: id,
        availability: 'in stock',
        condition: 'new',
        price: '1.00 USD',
        link: `https://shop.example/p/${id}`,
        image_link: `https://shop.example/p/${id}.jpg`,
        brand: 'Acme',
      });
    }
    const first = await check(1);
    expect(first.report.items.map((i) => [i.id, i.action])).to.deep.equal([
      ['O1', 'would-delete'],
      ['O2', 'would-delete'],
    ]);
    expect(h.sim.products(CATALOG).map((x) => x.id)).to.deep.equal(['D1', 'O1', 'O2']);

    const second = await check(2);
    expect(second.report.items.map((i) => [i.id, i.action])).to.deep.equal([
      ['O1', 'deleted'],
      ['O2', 'deferred'],
    ]);
    expect(second.report.calls.deletes).to.equal(1);
    expect(second.report.deletions[0]!.ids).to.deep.equal(['O1']);
    await waitFor('O1 deleted at Meta', async () => !h.products().has('O1'));

    const third = await check(3);
    expect(third.report.items.map((i) => [i.id, i.action])).to.deep.equal([['O2', 'deleted']]);
    await waitFor('O2 deleted at Meta', async () => !h.products().has('O2'));
    expect([...h.products().keys()]).to.deep.equal(['D1']);
  });
});
