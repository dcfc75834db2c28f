import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { readDeadLetterReason } from '../../src/dead-letter.ts';
import { csv, Harness, ids } from './harness.ts';

/** FILE_MAX_PRODUCTS: memory bounded by configuration; a file over it is refused, never half-held. */
describe('worker: a file larger than it may hold (moto + simulator)', function () {
  this.timeout(60_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('refuses a file with more distinct products than FILE_MAX_PRODUCTS: retried, then dead-lettered with the reason; files within it go', async () => {
    const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'w-limit-spool-'));
    const spoolFiles = () => readdirSync(path.join(spoolDir, 'catalog-sync-spool'));
    h = await Harness.create('w-limit', {
      FILE_MAX_PRODUCTS: '5',
      MAX_RECEIVE_COUNT: '3',
      SPOOL_DIR: spoolDir,
    });
    h.startWorker();
    // Five products in eight rows (duplicates count once) are within the limit.
    await h.upload('landing/small.csv', csv([...ids(1, 5), ...ids(1, 3)]));
    await h.waitForFinishedManifests(1);
    expect(h.products().size).to.equal(5);
    // The window's flush is done with its items: its spool file is gone.
    await waitFor("the flushed window's spool removed", async () => spoolFiles().length === 0);

    await h.upload('landing/big.csv', csv(ids(10, 20)));
    await waitFor('the big file dead-lettered', async () => (await h.depth(h.stack.dlqUrl)) === 1, {
      timeoutMs: 30_000,
    });
    const [dead] = await h.receiveAll(h.stack.dlqUrl);
    const reason = readDeadLetterReason(dead!.MessageAttributes)!;
    expect(reason).to.include({ kind: 'transient-exhausted', receiveCount: 2 });
    expect(reason.error).to.match(
      /FileTooLargeError: landing\/big\.csv has more than 5 distinct products \(stopped at line 7\)/,
    );
    const refused = h.logged('message handling failed; SQS will deliver it again');
    expect(refused.length).to.be.greaterThan(0);
    expect(JSON.stringify(refused[0])).to.include('FILE_MAX_PRODUCTS');
    await waitFor('queue drained', async () => (await h.depth()) === 0);
    expect(h.itemsBatchCalls()).to.have.length(1);
    expect(h.products().size).to.equal(5);
    // Each refused read removed what it had spooled.
    expect(spoolFiles()).to.deep.equal([]);
    rmSync(spoolDir, { recursive: true, force: true });
  });
});
