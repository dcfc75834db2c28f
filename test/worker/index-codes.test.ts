import { expect } from 'chai';
import { Codebook, NO_VALUE, OTHER, packPrice, unpackPrice } from '../../src/worker/index-codes.ts';
import { ProductIndex } from '../../src/worker/product-index.ts';

describe('product index encodings', () => {
  it('a packed price gives back exactly the string it was given', () => {
    for (const price of [
      '1.00 USD',
      '0.05 EUR',
      '80.19 USD',
      '12 GBP',
      '0.5 USD',
      '1234567.891 JPY',
      '10.10 USD',
    ])
      expect(unpackPrice(packPrice(price)!), price).to.equal(price);
  });

  it('a price of another form, or with more digits than a double holds exactly, is not packed', () => {
    for (const price of ['01.00 USD', '1.00', 'USD 1.00', '1,00 EUR', ' 1.00 USD', '1234567890123.456 USD'])
      expect(packPrice(price), price).to.equal(null);
  });

  it('a codebook gives a value one code, none a code of its own, and OTHER once it is full', () => {
    const book = new Codebook();
    expect(book.code(null)).to.equal(NO_VALUE);
    const a = book.code('in stock');
    expect(book.code('in stock')).to.equal(a);
    expect(book.name(a)).to.equal('in stock');
    for (let i = 0; i < 300; i++) book.code(`v${i}`);
    expect(book.code('one more')).to.equal(OTHER);
  });

  it('the index gives back every price and availability, packed or kept aside', () => {
    const index = new ProductIndex([{ sourceTime: 1, sourceKey: 'k', sequencer: 's', etag: 'e' }]);
    const prices = ['1.00 USD', 'free', null, '01.5 USD', '7 EUR'];
    const avail = ['in stock', null, 'x'.repeat(20), 'out of stock', 'in stock'];
    prices.forEach((price, i) =>
      index.put(
        {
          id: `p${i}`,
          hash: 'a'.repeat(32),
          line: i,
          at: 0,
          len: 1,
          version: null,
          price,
          availability: avail[i]!,
        },
        0,
      ),
    );
    expect([...index.values()].map((e) => [e.price, e.availability])).to.deep.equal(
      prices.map((p, i) => [p, avail[i]]),
    );
    // A later row of the same id replaces the values of its slot.
    index.put(
      {
        id: 'p1',
        hash: 'b'.repeat(32),
        line: 9,
        at: 0,
        len: 1,
        version: 3,
        price: '2.50 USD',
        availability: null,
      },
      0,
    );
    expect(JSON.parse(JSON.stringify(index.get('p1'))) as object).to.include({
      price: '2.50 USD',
      availability: null,
      line: 9,
      n: 1,
    });
    expect(index.get('p1')!.stamp.version).to.equal(3);
    expect(index.get('p0')!.stamp.version).to.equal(undefined);
  });
});
