import { expect } from 'chai';
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
    h = await Harness.create('w-limit', { FILE_MAX_PRODUCTS: '5', MAX_RECEIVE_COUNT: '3' });
    h.startWorker();
    // Five products in eight rows (duplicates count once) are within the limit.
    await h.upload('landing/small.csv', csv([...ids(1, 5), ...ids(1, 3)]));
    await h.waitForFinishedManifests(1);
    expect(h.products().size).to.equal(5);

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
  });
});
