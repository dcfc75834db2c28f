import { expect } from 'chai';
import { dueAt, flushReason, recordFile } from '../../src/worker/debounce.ts';

const timing = { quietMs: 30_000, maxHoldMs: 300_000, maxItems: 100 };

describe('debounce', () => {
  it('flushes after the quiet period without new files', () => {
    const a = recordFile(null, 0, 10);
    expect(flushReason(a, 29_999, timing)).to.equal(null);
    expect(flushReason(a, 30_000, timing)).to.equal('quiet');
    expect(dueAt(a, timing)).to.equal(30_000);
  });

  it('a new file restarts the quiet period but not the maximum hold', () => {
    let a = recordFile(null, 0, 1);
    for (let t = 20_000; t <= 300_000; t += 20_000) a = recordFile(a, t, 1);
    expect(a.openedAt).to.equal(0);
    expect(flushReason(a, 299_999, timing)).to.equal(null);
    expect(flushReason(a, 300_000, timing)).to.equal('max-hold');
    expect(dueAt(a, timing)).to.equal(300_000);
  });

  it('flushes at once when the window holds the item cap', () => {
    expect(flushReason(recordFile(null, 0, 100), 0, timing)).to.equal('max-items');
  });
});
