import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { readDeadLetterReason } from '../../src/dead-letter.ts';
import { summarizeManifest } from '../../src/ops/manifest-view.ts';
import { CATALOG, csv, Harness, realS3Event } from './harness.ts';

/**
 * The failures that broke "correct under failure", each put in place exactly (faults at the simulator,
 * retry limits that stop the system at the point in question) and checked by its outcome.
 */
describe('worker: correct under failure (moto + simulator)', function () {
  this.timeout(90_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  const recheck = (manifestKey: string) =>
    JSON.stringify({
      kind: 'catalog-sync.status-recheck',
      version: 1,
      manifestKey,
      sentAt: new Date().toISOString(),
    });

  async function manifestOf(fileKey: string): Promise<{ key: string; m: Manifest }> {
    for (const key of await h.keys('synced/manifests/')) {
      const m = await h.json<Manifest>(key);
      if (m.sources.some((s) => s.key === fileKey)) return { key, m };
    }
    throw new Error(`no manifest covers ${fileKey}`);
  }

  const applied = (id: string) =>
    h.sim.history(CATALOG, id).map((e) => (e.fields as { price?: string }).price);

  it('a batch ending in error is resent through the send gate: a newer file accepted meanwhile is never overwritten', async () => {
    // No automatic resend, so the system stops exactly between "A's batch ended in error" and its resend.
    h = await Harness.create('w-gate', { UNKNOWN_RETRY_MAX: '0' });
    h.sim.setFaults({ batchError: { times: 1, apply: 'none' } });
    h.startWorker();
    await h.upload(
      'landing/export-1.csv',
      csv([
        { id: 'P1', price: '1.00' },
        { id: 'P2', price: '1.00' },
      ]),
    );
    await waitFor(
      'the unknown-fate report of the first file',
      async () => (await h.keys('errors/unknown/')).length === 1,
    );
    const a = await manifestOf('landing/export-1.csv');
    expect(a.m.state).to.equal('submitted');
    expect(a.m.counts).to.include({ unknown: 2 });

    await h.upload('landing/export-2.csv', csv([{ id: 'P1', price: '2.00' }]));
    await waitFor(
      'the newer file accepted',
      async () => (await manifestOf('landing/export-2.csv')).m.state === 'finished',
    );
    expect(h.products().get('P1')).to.include({ price: '2.00 USD' });

    // The resend (as a DAG re-check, a restart or the automatic retry would run it).
    await h.send(recheck(a.key));
    await waitFor('the first file final', async () => (await h.json<Manifest>(a.key)).state === 'finished');
    const done = await h.json<Manifest>(a.key);
    expect(done.counts).to.include({ items: 2, accepted: 1, superseded: 1, unknown: 0 });
    expect(done.batches.at(-1)!.superseded).to.deep.equal([
      { id: 'P1', by: (await manifestOf('landing/export-2.csv')).key },
    ]);
    expect(h.products().get('P1')).to.include({ price: '2.00 USD' });
    expect(h.products().get('P2')).to.include({ price: '1.00 USD' });
    expect(applied('P1')).to.deep.equal(['2.00 USD']);
    await waitFor('queue drained', async () => (await h.depth()) === 0);
  });

  it('items of unknown fate are retried, then reported and never called finished; a re-check completes them', async () => {
    h = await Harness.create('w-unknown', { UNKNOWN_RETRY_MAX: '1' });
    h.sim.setFaults({ batchError: { times: 2, apply: 'none' } });
    h.startWorker();
    await h.upload('landing/u.csv', csv([{ id: 'U1' }, { id: 'U2' }, { id: 'U3' }]));
    await waitFor('the unknown-fate report', async () => (await h.keys('errors/unknown/')).length === 1);
    const { key, m } = await manifestOf('landing/u.csv');
    expect(m.state).to.equal('submitted');
    expect(m.counts).to.include({ items: 3, accepted: 0, unknown: 3 });
    expect(m.batches.map((b) => [b.status, b.resubmitOf])).to.deep.equal([
      ['error', null],
      ['error', 0],
    ]);
    const report = await h.json<{ items: { id: string; key: string; line: number }[] }>(
      (await h.keys('errors/unknown/'))[0]!,
    );
    expect(report.items.map((i) => [i.id, i.key, i.line]).sort()).to.deep.equal([
      ['U1', 'landing/u.csv', 2],
      ['U2', 'landing/u.csv', 3],
      ['U3', 'landing/u.csv', 4],
    ]);
    expect(h.logged(/items of unknown fate after the automatic resends/)).to.have.length.greaterThan(0);

    await h.send(recheck(key));
    await waitFor('manifest finished', async () => (await h.json<Manifest>(key)).state === 'finished');
    expect((await h.json<Manifest>(key)).counts).to.include({ accepted: 3, unknown: 0 });
    expect(h.products().size).to.equal(3);
  });

  it('a product is not sent again while an earlier batch holding it is still processing (Meta keeps no order)', async () => {
    h = await Harness.create('w-order');
    // The first batch is processed 2.5 s late: a later batch would otherwise be applied before it.
    h.sim.setFaults({ reorderBatches: { holdMs: 2500, times: 1 } });
    h.startWorker();
    await h.upload('landing/export-1.csv', csv([{ id: 'P1', price: '1.00' }]));
    await waitFor('first batch accepted', async () => h.itemsBatchCalls().length === 1);
    await h.upload('landing/export-2.csv', csv([{ id: 'P1', price: '2.00' }]));
    await h.waitForFinishedManifests(2);
    expect(applied('P1')).to.deep.equal(['1.00 USD', '2.00 USD']);
    expect(h.products().get('P1')).to.include({ price: '2.00 USD' });
    expect(
      h.logged('waiting for earlier sends of the same products to finish at Meta'),
    ).to.have.length.greaterThan(0);
  });

  it('reads .CSV keys in any case and reports other keys under landing/ with a file report', async () => {
    h = await Harness.create('w-case');
    h.startWorker();
    await h.upload('landing/UPPER.CSV', csv([{ id: 'C1' }]));
    await h.upload('landing/notes.txt', 'not a csv');
    await h.send(realS3Event(h.stack.landingBucket, 'landing/UPPER.CSV'));
    await h.send(realS3Event(h.stack.landingBucket, 'landing/notes.txt'));
    await waitFor('C1 in the catalog', async () => h.products().has('C1'));
    await waitFor('file report for notes.txt', async () =>
      (await Promise.all((await h.keys('errors/')).map((k) => h.text(k)))).some(
        (t) => t.includes('landing/notes.txt') && t.includes('not-csv'),
      ),
    );
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
  });

  it('a refused token halts without dead-lettering, and the worker resumes by itself once the token works', async () => {
    h = await Harness.create('w-auth', { AUTH_PROBE_INTERVAL_MS: '300' });
    h.sim.setFaults({ invalidToken: true });
    h.startWorker();
    await h.upload('landing/auth.csv', csv([{ id: 'A1' }]));
    await waitFor('halted', async () => h.logged(/^SUBMISSIONS HALTED/).length > 0);
    // Several probes fail while halted (longer than the 6 s visibility timeout): nothing is released meanwhile.
    await waitFor(
      'three failed probes',
      async () => h.logged(/^credentials probe: still refused/).length >= 3,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor(
      'past a visibility timeout while halted',
      async () => {
        const first = Date.parse(String(h.logged(/^SUBMISSIONS HALTED/)[0]!.timestamp));
        return Date.now() - first > 7000;
      },
      { timeoutMs: 30_000 },
    );
    expect(h.logged('window parked until submissions resume; its messages stay held')).to.have.length(1);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
    h.sim.setFaults({});
    await waitFor('resumed', async () => h.logged(/^SUBMISSIONS RESUMED/).length > 0);
    await h.waitForFinishedManifests(1);
    expect(h.products().has('A1')).to.equal(true);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
    // The file's message was held across the halt, never received again (no receive count burnt).
    expect(h.logged('file read into window').filter((e) => e.fileKey === 'landing/auth.csv')).to.have.length(
      1,
    );
  });

  it('with VERSION_COLUMN, the row version decides over file order; a row without a usable version is rejected by line', async () => {
    h = await Harness.create('w-version', { VERSION_COLUMN: 'updated_at' });
    h.startWorker();
    const header = 'id,title,description,link,image_link,availability,price,brand,updated_at';
    const row = (id: string, price: string, v: string) =>
      `${id},T ${id},D,https://shop.example/${id},https://shop.example/${id}.jpg,in stock,${price},Acme,${v}`;
    await h.upload(
      'landing/export-1.csv',
      [header, row('V1', '2.00', '2026-06-01T00:00:00Z')].join('\n') + '\n',
    );
    await h.waitForFinishedManifests(1);
    // A later file with an older version of V1 and a row whose version is unusable.
    await h.upload(
      'landing/export-2.csv',
      [header, row('V1', '1.00', '2026-01-01T00:00:00Z'), row('V2', '3.00', 'yesterday')].join('\n') + '\n',
    );
    await h.waitForFinishedManifests(2);
    expect(h.products().get('V1')).to.include({ price: '2.00 USD' });
    expect(h.products().has('V2')).to.equal(false);
    const reports = await Promise.all((await h.keys('errors/rows/')).map((k) => h.text(k)));
    expect(reports.join('\n'))
      .to.match(/"line":3/)
      .and.to.match(/updated_at .{0,2}yesterday.*VERSION_COLUMN/);
  });

  it('a throttling answer with no wait (80014, ETA 0) is retried within seconds, and the wait shows in the manifest and in status', async () => {
    h = await Harness.create('w-wait');
    h.sim.setFaults({ errors: [{ code: 80014, endpoint: 'items_batch', etaMinutes: 0, times: 1 }] });
    h.startWorker();
    const started = Date.now();
    await h.upload('landing/wait.csv', csv([{ id: 'W1' }]));
    let seen: Manifest | null = null;
    await waitFor('the manifest records the wait', async () => {
      const keys = await h.keys('synced/manifests/');
      if (keys.length === 0) return false;
      const m = await h.json<Manifest>(keys[0]!);
      if (m.waiting) seen = m;
      return seen !== null;
    });
    expect(seen!.waiting!.reason).to.match(/throttled|budget-exhausted/);
    const waitMs = Date.parse(seen!.waiting!.until) - Date.parse(seen!.waiting!.since);
    expect(waitMs)
      .to.be.at.least(5000)
      .and.at.most(5 * 60_000);
    expect(summarizeManifest('h', 'k', seen!).state).to.match(/^pending: waiting \(/);
    const [done] = await h.waitForFinishedManifests(1);
    expect(done!.waiting ?? null).to.equal(null);
    expect(Date.now() - started).to.be.below(60_000);
    expect(h.products().has('W1')).to.equal(true);
  });

  it('a message whose earlier deliveries all died without a trace reaches the DLQ with a reason, never through SQS alone', async () => {
    // Queue maxReceiveCount 2: the worker tries the work on receive 1, and dead-letters on receive 2.
    h = await Harness.create('w-kills', { MAX_RECEIVE_COUNT: '2' });
    await h.upload('landing/killed.csv', csv([{ id: 'K1' }]));
    // A worker took it and was killed before recording anything: the receive count is spent, nothing else.
    await waitFor('the event received once and lost', async () => {
      const res = await h.stack.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: h.stack.queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
      );
      let found = false;
      for (const m of res.Messages ?? []) {
        if (m.Body?.includes('killed.csv')) found = true;
        else
          await h.stack.clients.sqs.send(
            new DeleteMessageCommand({ QueueUrl: h.stack.queueUrl, ReceiptHandle: m.ReceiptHandle! }),
          );
      }
      return found;
    });
    h.startWorker();
    await waitFor('dead-lettered', async () => (await h.depth(h.stack.dlqUrl)) === 1);
    const dead = await h.receiveAll(h.stack.dlqUrl);
    expect(dead).to.have.length(1);
    expect(dead[0]!.Body).to.include('killed.csv');
    const reason = readDeadLetterReason(dead[0]!.MessageAttributes)!;
    expect(reason).to.include({ kind: 'transient-exhausted', receiveCount: 2 });
    expect(reason.error).to.match(/received 2 times without its work being recorded/);
    expect(h.logged('message dead-lettered on its last allowed receive')).to.have.length(1);
  });
});
