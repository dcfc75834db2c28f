import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { buildProgram } from '../../src/cli.ts';
import type { PlanReport } from '../../src/plan/plan.ts';
import { Harness } from './harness.ts';

/**
 * `catalog-sync plan` against the live state (moto) and against an export, on a file with new, changed,
 * unchanged, older and bad rows: each class with the right counts and field changes, and a call estimate
 * equal to what the worker then spends on the same file.
 */

const cli = path.join(repoRoot, 'bin', 'catalog-sync');

async function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cli, args, { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const HEADER = 'id,title,description,link,image_link,availability,price,brand,updated_at';
const row = (id: string, o: { title?: string; price?: string; v: string; availability?: string }) =>
  [
    id,
    o.title ?? `Product ${id}`,
    `Description of ${id}`,
    `https://shop.example/p/${id}`,
    `https://shop.example/img/${id}.jpg`,
    o.availability ?? 'in stock',
    o.price ?? '10.00',
    'Acme',
    o.v,
  ].join(',');

describe('catalog-sync plan (moto + simulator)', function () {
  this.timeout(120_000);
  let h: Harness;
  let tmp: string | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('--help explains every flag, the exit codes and shows examples', () => {
    for (const name of ['plan', 'release', 'discard']) {
      let text = '';
      const cmd = buildProgram().commands.find((c) => c.name() === name)!;
      cmd.configureOutput({ writeOut: (s) => (text += s) });
      cmd.outputHelp();
      expect(text, name).to.include('Examples:').and.to.include('Exit');
      for (const flag of cmd.options.map((o) => o.long!)) expect(text, `${name} ${flag}`).to.include(flag);
    }
    const state = buildProgram()
      .commands.find((c) => c.name() === 'state')!
      .commands.find((c) => c.name() === 'export')!;
    expect(state.helpInformation()).to.include('--no-items');
  });

  it('prints each class with its counts and field changes, offline too, and the worker then spends exactly the calls it estimated', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plan-'));
    tmp = dir;
    const env = { VERSION_COLUMN: 'updated_at', META_BATCH_MAX_ITEMS: '2' };
    h = await Harness.create('w-plan', env);
    h.startWorker();
    await h.upload(
      'landing/base.csv',
      [
        HEADER,
        row('P1', { price: '10.00', v: '2026-01-01T00:00:00Z' }),
        row('P2', { title: 'Old title', v: '2026-01-01T00:00:00Z' }),
        row('P3', { v: '2026-01-01T00:00:00Z' }),
        row('P4', { v: '2026-06-01T00:00:00Z' }),
      ].join('\n') + '\n',
    );
    await h.waitForFinishedManifests(1);

    const file = path.join(dir, 'next.csv');
    writeFileSync(
      file,
      [
        HEADER,
        row('P1', { price: '5.00', v: '2026-02-01T00:00:00Z' }), // changed: price halved
        row('P2', { title: 'New title', v: '2026-02-01T00:00:00Z' }), // changed: title
        row('P3', { v: '2026-02-01T00:00:00Z' }), // unchanged
        row('P4', { price: '1.00', v: '2026-05-01T00:00:00Z' }), // older than what was sent
        row('N1', { v: '2026-02-01T00:00:00Z' }),
        row('N2', { v: '2026-02-01T00:00:00Z' }),
        row('N3', { v: '2026-02-01T00:00:00Z' }),
        row('B1', { price: 'abc', v: '2026-02-01T00:00:00Z' }), // rejected: price
        row('', { v: '2026-02-01T00:00:00Z' }), // rejected: no id
      ].join('\n') + '\n',
    );
    const cliEnv = {
      ...process.env,
      ...env,
      SYNCED_BUCKET: h.stack.syncedBucket,
      CATALOG_CURRENCY: 'USD',
      AWS_REGION: 'us-east-1',
    };

    const live = await run(['plan', file, '--json', '--key', 'landing/next.csv'], cliEnv);
    expect(live.code, live.stderr).to.equal(1); // rows were rejected
    const plan = JSON.parse(live.stdout) as PlanReport;
    expect(plan.counts).to.deep.equal({
      rows: 9,
      valid: 7,
      rejected: 2,
      supersededInFile: 0,
      new: 3,
      changed: 2,
      unchanged: 1,
      older: 1,
    });
    expect(plan.new.map((n) => n.id)).to.deep.equal(['N1', 'N2', 'N3']);
    expect(plan.changed).to.deep.equal([
      { id: 'P1', line: 2, fields: [{ field: 'price', old: '10.00 USD', new: '5.00 USD', change: '-50 %' }] },
      { id: 'P2', line: 3, fields: [{ field: 'title', old: 'Old title', new: 'New title' }] },
    ]);
    expect(plan.unchanged).to.deep.equal([{ id: 'P3', line: 4 }]);
    expect(plan.older).to.have.length(1);
    expect(plan.older[0]).to.include({ id: 'P4', line: 5, sentFrom: 'landing/base.csv' });
    expect(plan.rejected.map((r) => r.line)).to.deep.equal([9, 10]);
    expect(plan.rejected[0]!.reason).to.match(/price/);
    expect(plan.calls).to.equal(3); // 5 items to send, 2 a call
    expect(plan.batches.map((b) => b.items)).to.deep.equal([2, 2, 1]);
    expect(plan.guardrails).to.include({ enabled: true, held: false, knownProducts: 4 });

    const human = await run(['plan', file, '--key', 'landing/next.csv'], cliEnv);
    expect(human.stdout)
      .to.include('new        3')
      .and.to.include('price: "10.00 USD" → "5.00 USD" (-50 %)')
      .and.to.include('title: "Old title" → "New title"')
      .and.to.include('Older than what was sent, not sent (1):')
      .and.to.include('items_batch calls: 3')
      .and.to.include('line 10 (no id)');

    // Offline: an export of the state plans the same, with no access to the bucket.
    const exported = await run(['state', 'export', path.join(dir, 'state')], cliEnv);
    expect(exported.code, exported.stderr).to.equal(0);
    expect(exported.stdout).to.include('Exported 4 products').and.to.include('with 4 last sent items');
    expect(readdirSync(path.join(dir, 'state'))).to.include('catalog-sync-state.json');
    const { SYNCED_BUCKET: _gone, ...offlineEnv } = cliEnv;
    const offline = await run(
      ['plan', file, '--json', '--key', 'landing/next.csv', '--state', path.join(dir, 'state')],
      {
        ...offlineEnv,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      },
    );
    expect(offline.code, offline.stderr).to.equal(1);
    const offlinePlan = JSON.parse(offline.stdout) as PlanReport;
    expect(offlinePlan.counts).to.deep.equal(plan.counts);
    expect(offlinePlan.changed).to.deep.equal(plan.changed);
    expect(offlinePlan.calls).to.equal(plan.calls);
    expect(offlinePlan.state).to.match(/^export .*state \(exported /);
    const single = await run(['state', 'export', path.join(dir, 'state.json'), '--no-items'], cliEnv);
    expect(single.stdout).to.include('without items');
    const noItems = JSON.parse(
      (
        await run(
          ['plan', file, '--json', '--key', 'landing/next.csv', '--state', path.join(dir, 'state.json')],
          offlineEnv,
        )
      ).stdout,
    ) as PlanReport;
    expect(noItems.changed.map((c) => [c.id, c.fields, c.note])).to.deep.equal([
      ['P1', null, 'what was sent last is no longer stored'],
      ['P2', null, 'what was sent last is no longer stored'],
    ]);
    const missing = await run(['plan', file, '--state', path.join(dir, 'nope')], offlineEnv);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('does not exist: write one with `catalog-sync state export');

    // The worker on the same file: the same classes, and exactly the calls the plan estimated.
    const callsBefore = h.itemsBatchCalls().length;
    await h.upload('landing/next.csv', (await import('node:fs')).readFileSync(file));
    const [, second] = (await h.waitForFinishedManifests(2)).sort((a, b) =>
      a.createdAt.localeCompare(b.createdAt),
    );
    const m = second as Manifest;
    expect(m.counts.calls).to.equal(plan.calls);
    expect(h.itemsBatchCalls().length - callsBefore).to.equal(plan.calls);
    expect(m.counts.items).to.equal(plan.counts.new + plan.counts.changed);
    expect(m.sources[0]!.rows).to.include({ total: 9, rejected: 2, unchanged: 1, older: 1 });
    expect(h.products().get('P1')).to.include({ price: '5.00 USD' });
    expect(h.products().get('P4')).to.include({ price: '10.00 USD' });
  });
});
