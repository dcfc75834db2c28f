import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { contentHash } from '../../src/state/product-state.ts';

/**
 * The content hash is stored with every product's state and compared with the next row's: a change to
 * the text it hashes would make every product of a catalog look changed once (a full resend), and a
 * stale key order reused for an item with other keys would hash the wrong fields (a change skipped).
 */
describe('content hash', () => {
  it('is the hash stored by earlier releases (the digest of sorted [key, value] pairs)', () => {
    expect(
      contentHash({ id: 'P1', title: 'Tee', price: '9.99 USD', nested: { b: 1, a: [2, null] } }),
    ).to.equal('65e7b8a5bfbfa36e7da0b43464217bf3');
    expect(contentHash({ title: 'Tee', id: 'P1' })).to.equal('f47fb7a11ae2cacba5163e5fd332b1c5');
  });

  it('does not depend on key order', () => {
    expect(contentHash({ b: '2', a: '1', c: '3' })).to.equal(contentHash({ c: '3', a: '1', b: '2' }));
  });

  it('items with other keys after one another each hash their own fields', () => {
    // The definition, written out: what every hash must equal whatever came before it.
    const reference = (d: Record<string, unknown>): string =>
      createHash('sha256')
        .update(
          JSON.stringify(
            Object.keys(d)
              .sort()
              .map((k) => [k, d[k]]),
          ),
        )
        .digest('hex')
        .slice(0, 32);
    const a = { id: 'P1', title: 'x', price: '1.00 USD' };
    const b = { id: 'P1', title: 'x', brand: '1.00 USD' }; // as many keys as a, one of them other
    const c = { title: 'x', id: 'P1', price: '1.00 USD' }; // a's keys in another order
    const d = { id: 'P1', title: 'x', price: '1.00 USD', brand: '' };
    for (const item of [a, b, c, a, d, b, b, a]) expect(contentHash(item)).to.equal(reference(item));
  });
});
