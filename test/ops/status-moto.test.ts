import { expect } from 'chai';
import { recentHours } from '../../src/shared/hours.ts';
import {
  readManifestDetail,
  readProductReport,
  readRecentManifests,
  type StatusStore,
} from '../../src/ops/status-report.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';
import {
  batch,
  manifest,
  manifestKey,
  metaReport,
  putJson,
  putManifest,
  putStates,
  rowsReport,
  rowsReportKey,
  source,
  stateEntry,
} from './fixtures.ts';

// A fixed clock: the hours the tests write into are the hours `status` looks at.
const NOW = new Date('2026-11-25T19:30:00Z');
const H = recentHours(NOW, 6); // 19, 18, 17, 16, 15, 14

describe('status reads the storage layout (moto)', function () {
  let stack: TestStack;
  let store: StatusStore;

  before(async () => {
    stack = await deployTestStack('status');
    const { s3 } = stack.clients;
    store = { s3, bucket: stack.syncedBucket, syncedPrefix: 'synced/', errorsPrefix: 'errors/' };
    const put = (hour: string, m: ReturnType<typeof manifest>) =>
      putManifest(s3, stack.syncedBucket, hour, m);

    await put(
      H[0]!,
      manifest(H[0]!, 'm-running', {
        state: 'submitted',
        sources: [
          source('landing/b.csv'),
          source('landing/c.csv', {}, { fileError: 'not-csv: binary content' }),
        ],
        batches: [batch(0, { status: 'running' })],
        counts: { items: 3, accepted: 0, rejected: 0, unknown: 3, calls: 1, rowsRejected: 0 },
      }),
    );
    await put(
      H[2]!,
      manifest(H[2]!, 'm-done', {
        batches: [
          batch(0),
          batch(1, { errorsTotal: 1, rejected: [{ id: 'SKU-BAD', reason: 'price: invalid currency' }] }),
        ],
        counts: { items: 6, accepted: 5, rejected: 1, unknown: 0, calls: 2, rowsRejected: 1 },
      }),
    );
    await putJson(
      s3,
      stack.syncedBucket,
      `errors/meta/${H[2]}/m-done.json`,
      metaReport('m-done', `${H[2]}:09:00Z`, [
        { id: 'SKU-BAD', reason: 'price: invalid currency', batchIndex: 1, key: 'landing/a.csv', line: 7 },
      ]),
    );
    await putJson(s3, stack.syncedBucket, manifestKey(H[3]!, 'm-broken'), '{"schemaVersion": 1, "manif');
    // Outside the window the tests look at (--hours 6 reaches back to H[5]).
    await put('2026-11-24T10', manifest('2026-11-24T10', 'm-old'));

    await putStates(s3, stack.syncedBucket, {
      'SKU-OK': stateEntry(manifestKey(H[2]!, 'm-done'), 0, `${H[2]}:06:00Z`),
      'SKU-BAD': stateEntry(manifestKey(H[2]!, 'm-done'), 1, `${H[2]}:06:00Z`),
      'SKU-WAIT': stateEntry(manifestKey(H[0]!, 'm-running'), 0, `${H[0]}:06:00Z`, 'landing/b.csv'),
      'SKU-GONE': stateEntry(manifestKey('2026-11-01T00', 'm-expired'), 0, '2026-11-01T00:06:00Z'),
    });
    await putJson(
      s3,
      stack.syncedBucket,
      rowsReportKey(H[1]!, 'landing/d.csv'),
      rowsReport('landing/d.csv', `${H[1]}:02:00Z`, [
        { line: 4, id: 'SKU-ROW', reason: 'price "abc" is not a number' },
        { line: 5, id: null, reason: 'id is empty' },
      ]),
    );
    await putJson(
      s3,
      stack.syncedBucket,
      rowsReportKey(H[0]!, 'landing/e.csv'),
      rowsReport('landing/e.csv', `${H[0]}:02:00Z`, [
        { line: 9, id: 'SKU-OK', reason: 'title is longer than 150 characters' },
      ]),
    );
  });

  it('lists the manifests of the last N hours, newest first, with counts and state; an unreadable one is a row', async () => {
    const rows = await readRecentManifests(store, H);
    expect(rows.map((r) => [r.hour, r.manifestId, r.state])).to.deep.equal([
      [H[0], 'm-running', 'submitted'],
      [H[2], 'm-done', 'finished'],
      [H[3], 'm-broken', 'unreadable'],
    ]);
    expect(rows[0]).to.deep.include({
      files: 2,
      unusableFiles: 1,
      itemsSent: 3,
      calls: 1,
      accepted: 0,
      unknown: 3,
    });
    expect(rows[1]).to.deep.include({ files: 1, itemsSent: 6, calls: 2, accepted: 5, rejected: 1 });
    expect(rows[2]!.error).to.match(/not valid JSON/);
  });

  it('shows one manifest, by id or key: sources with row counts, batches with handle and status, rejected ids with their source line', async () => {
    const byId = await readManifestDetail(store, 'm-done', H);
    const byKey = await readManifestDetail(store, manifestKey(H[2]!, 'm-done'), H);
    expect(byId).to.deep.equal(byKey);
    expect(byId.sources[0]!.rows.total).to.equal(10);
    expect(byId.batches.map((b) => [b.index, b.handle, b.status])).to.deep.equal([
      [0, 'h-0', 'finished'],
      [1, 'h-1', 'finished'],
    ]);
    expect(byId.rejected).to.deep.equal([
      { id: 'SKU-BAD', reason: 'price: invalid currency', batchIndex: 1, key: 'landing/a.csv', line: 7 },
    ]);
    await readManifestDetail(store, 'm-nope', H).then(
      () => expect.fail('should throw'),
      (err: Error) =>
        expect(err.message).to.match(/no manifest with id m-nope in the last 6 hours: pass a larger --hours/),
    );
  });

  it('--product: accepted, rejected by Meta, still running, manifest gone', async () => {
    const ok = await readProductReport(store, 'SKU-OK', H);
    expect(ok.verdict.kind).to.equal('accepted');
    if (ok.verdict.kind !== 'accepted') return;
    expect(ok.verdict.sent).to.deep.include({
      manifestKey: manifestKey(H[2]!, 'm-done'),
      batchIndex: 0,
      handle: 'h-0',
    });
    expect(ok.verdict.sent.sentAt).to.equal(`${H[2]}:06:00.000Z`);
    // A newer row for it was rejected later: shown as evidence, not hidden by the accepted send.
    expect(ok.evidence.rowRejections.map((r) => r.reason)).to.deep.equal([
      'title is longer than 150 characters',
    ]);

    const bad = await readProductReport(store, 'SKU-BAD', H);
    expect(bad.verdict).to.deep.include({ kind: 'rejected-by-meta', reason: 'price: invalid currency' });

    const wait = await readProductReport(store, 'SKU-WAIT', H);
    expect(wait.verdict).to.deep.include({ kind: 'in-progress', batchStatus: 'running' });

    const gone = await readProductReport(store, 'SKU-GONE', H);
    expect(gone.verdict.kind).to.equal('manifest-missing');
  });

  it('--product not in state: the row rejection from the reports, else no record in the last N hours', async () => {
    const row = await readProductReport(store, 'SKU-ROW', H);
    expect(row.state).to.equal(null);
    expect(row.verdict).to.deep.include({ kind: 'row-rejected' });
    if (row.verdict.kind !== 'row-rejected') return;
    expect(row.verdict.rejection).to.deep.include({
      sourceKey: 'landing/d.csv',
      line: 4,
      reason: 'price "abc" is not a number',
    });

    const none = await readProductReport(store, 'SKU-NEVER', H);
    expect(none.verdict).to.deep.equal({ kind: 'no-record', hours: 6 });
  });
});
