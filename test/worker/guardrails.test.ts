import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { createMetrics } from '../../src/metrics.ts';
import { composeWorker } from '../../src/worker/compose.ts';
import { CATALOG, csv, Harness } from './harness.ts';
import { runCli } from '../support/cli.ts';

/**
 * Guardrails end to end (moto + simulator): a window that trips a rule is held (nothing reaches the
 * catalog, the manifest says which rule and why, WindowsHeld is emitted, status shows it), and the
 * operator's `release` sends it through the worker while `discard` drops it, each recorded.
 */

const run = runCli;

describe('worker: guardrails hold a window; release sends it, discard drops it (moto + simulator)', function () {
  this.timeout(120_000);
  let h: Harness;
  let emf: string[];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  /** The harness's worker, with its EMF metric lines kept. */
  function startWorker(): void {
    const c = h.config;
    emf = [];
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) =>
      emf.push(
        ...d
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
    h.client = h.catalogClient();
    h.worker = composeWorker({
      config: c,
      s3: h.stack.clients.s3,
      sqs: h.stack.clients.sqs,
      client: h.client,
      readRows: readProducts,
      logger: h.logger,
      metrics: createMetrics({ namespace: 'CatalogSync', service: 'worker', stream }),
    });
    h.worker.start();
  }

  const cliEnv = () => ({
    ...process.env,
    SYNCED_BUCKET: h.stack.syncedBucket,
    QUEUE_URL: h.stack.queueUrl,
    DLQ_URL: h.stack.dlqUrl,
    AWS_REGION: 'us-east-1',
  });

  const five = (price: string) => csv(['P1', 'P2', 'P3', 'P4', 'P5'].map((id) => ({ id, price })));
  const prices = () => [...h.products().values()].map((p) => p.price);

  async function manifestIn(state: Manifest['state']): Promise<{ key: string; m: Manifest }> {
    let found: { key: string; m: Manifest } | undefined;
    await waitFor(
      `a ${state} manifest`,
      async () => {
        for (const key of await h.keys('synced/manifests/')) {
          const m = await h.json<Manifest>(key);
          if (m.state === state) found = { key, m };
        }
        return found !== undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    return found!;
  }

  /** Sends a baseline of five products at 9.99, then a file that zeroes (0.01) every price: held. */
  async function holdAZeroPriceFile(): Promise<{ key: string; m: Manifest }> {
    await h.upload('landing/base.csv', five('9.99'));
    await h.waitForFinishedManifests(1);
    await h.upload('landing/zero.csv', five('0.01'));
    return manifestIn('held');
  }

  it('a file that zeroes every price is held: nothing reaches the catalog, the rule, the metric and status say so; release sends it', async () => {
    h = await Harness.create('w-held');
    startWorker();
    const held = await holdAZeroPriceFile();

    expect(held.m.sources.map((s) => s.key)).to.deep.equal(['landing/zero.csv']);
    expect(held.m.held!.rules.map((r) => r.rule)).to.deep.equal(['near-zero-price']);
    const rule = held.m.held!.rules[0]!;
    expect(rule.message).to.match(/5 item\(s\) priced at or below GUARDRAIL_NEAR_ZERO_PRICE=0\.01/);
    expect(rule.evidence.examples[0]).to.deep.equal({ id: 'P1', old: '9.99 USD', new: '0.01 USD' });
    expect(held.m.held!.knownProducts).to.equal(5);
    expect(held.m.counts).to.include({ items: 5, calls: 0 });
    // The payloads are the record; nothing went to Meta, and the messages are gone (the work is durable).
    expect(await h.keys(`synced/batches/${held.m.manifestId}/`)).to.have.length(1);
    expect(h.itemsBatchCalls()).to.have.length(1);
    expect(prices()).to.deep.equal(Array(5).fill('9.99 USD'));
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
    await waitFor('WindowsHeld emitted', async () => emf.some((l) => JSON.parse(l).WindowsHeld === 1));
    expect(h.logged(/^WINDOW HELD by a guardrail/)[0]).to.include({
      alert: 'window-held',
      manifestKey: held.key,
    });

    const status = await run(['status', '--json'], cliEnv());
    expect(status.code, status.stderr).to.equal(0);
    const overview = JSON.parse(status.stdout) as { held: { key: string; held: Manifest['held'] }[] };
    expect(overview.held.map((x) => [x.key, x.held!.rules[0]!.rule])).to.deep.equal([
      [held.key, 'near-zero-price'],
    ]);
    const human = await run(['status'], cliEnv());
    expect(human.stdout)
      .to.include('Held by a guardrail')
      .and.to.include(`catalog-sync release ${held.m.manifestId}`);

    const dry = await run(['release', held.m.manifestId, '--dry-run', '--by', 'alice'], cliEnv());
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout)
      .to.include('the worker would send 5 item(s) in 1 items_batch call(s)')
      .and.to.include('Dry run');
    expect((await h.json<Manifest>(held.key)).state).to.equal('held');

    const released = await run(['release', held.key, '--by', 'alice'], cliEnv());
    expect(released.code, released.stderr).to.equal(0);
    expect(released.stdout).to.include('Release requested by alice');
    await waitFor(
      'the released manifest finished',
      async () => (await h.json<Manifest>(held.key)).state === 'finished',
      {
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    const done = await h.json<Manifest>(held.key);
    expect(done.released).to.include({ by: 'alice' });
    expect(done.held!.rules[0]!.rule).to.equal('near-zero-price');
    expect(done.counts).to.include({ items: 5, accepted: 5, unknown: 0, calls: 1 });
    expect(prices()).to.deep.equal(Array(5).fill('0.01 USD'));
    expect(h.itemsBatchCalls()).to.have.length(2);
    expect(h.logged('held window released: sending it through the send gate')[0]).to.include({ by: 'alice' });
    // A second release finds nothing held.
    const again = await run(['release', held.key], cliEnv());
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(
      /is finished \(released by alice at .*\), not held: only a held window can be released/,
    );
  });

  it('discard drops a held window and records who and why; a newer file is sent meanwhile, and a discarded window cannot be released', async () => {
    h = await Harness.create('w-discard');
    startWorker();
    const held = await holdAZeroPriceFile();
    // Newer data for P1 is not held back by the hold. (Named to sort after zero.csv: two files created in
    // the same second are ordered by key.)
    await h.upload('landing/zz-fix.csv', csv([{ id: 'P1', price: '8.00' }]));
    await h.waitForFinishedManifests(2);
    expect(h.products().get('P1')).to.include({ price: '8.00 USD' });
    const dry = await run(['release', held.m.manifestId, '--dry-run', '--json'], cliEnv());
    const plan = JSON.parse(dry.stdout) as { superseded: { id: string }[]; send: { ids: string[] }[] };
    expect(plan.superseded.map((s) => s.id)).to.deep.equal(['P1']);
    expect(plan.send[0]!.ids).to.deep.equal(['P2', 'P3', 'P4', 'P5']);

    const noReason = await run(['discard', held.m.manifestId], cliEnv());
    expect(noReason.code).to.not.equal(0);
    expect(noReason.stderr).to.include("required option '--reason <text>'");
    const dryDiscard = await run(
      ['discard', held.m.manifestId, '--reason', 'export zeroed prices', '--dry-run'],
      cliEnv(),
    );
    expect(dryDiscard.stdout).to.include('Discarding drops its 5 item(s)').and.to.include('Dry run');
    expect((await h.json<Manifest>(held.key)).state).to.equal('held');

    const discarded = await run(
      ['discard', held.m.manifestId, '--reason', 'export zeroed prices', '--by', 'bob'],
      cliEnv(),
    );
    expect(discarded.code, discarded.stderr).to.equal(0);
    const m = await h.json<Manifest>(held.key);
    expect(m.state).to.equal('discarded');
    expect(m.discarded).to.include({ by: 'bob', reason: 'export zeroed prices' });
    expect(m.finishedAt).to.equal(m.discarded!.at);
    expect(h.products().get('P1')).to.include({ price: '8.00 USD' });
    expect(h.products().get('P2')).to.include({ price: '9.99 USD' });

    const release = await run(['release', held.m.manifestId], cliEnv());
    expect(release.code).to.equal(1);
    expect(release.stderr).to.match(
      /is discarded \(discarded by bob at .*: export zeroed prices\), not held/,
    );
    expect(h.itemsBatchCalls()).to.have.length(2);
    expect(h.sim.products(CATALOG)).to.have.length(5);
  });
});
