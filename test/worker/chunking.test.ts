import { expect } from 'chai';
import { planChunks } from '../../src/worker/chunking.ts';

const bytes = (items: string[]) => Buffer.byteLength(JSON.stringify({ requests: items }));

describe('chunking', () => {
  it('fills batches to the item cap: 12,000 items make 3 calls', () => {
    const items = Array.from({ length: 12_000 }, (_, i) => `item-${i}`);
    const chunks = planChunks(items, { maxItems: 5000, maxBytes: 28_000_000 }, bytes);
    expect(chunks.map((c) => c.length)).to.deep.equal([5000, 5000, 2000]);
  });

  it('cuts earlier when the byte limit demands it, and never exceeds it', () => {
    const items = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(100, 'x'));
    const chunks = planChunks(items, { maxItems: 5000, maxBytes: 2000 }, bytes);
    expect(chunks.length).to.be.greaterThan(5);
    for (const c of chunks) expect(bytes(c)).to.be.at.most(2000);
    expect(chunks.flat()).to.deep.equal(items);
  });

  it('plans nothing for nothing', () => {
    expect(planChunks([], { maxItems: 5000, maxBytes: 1000 }, bytes)).to.deep.equal([]);
  });
});
