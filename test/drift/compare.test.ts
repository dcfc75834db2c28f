import { expect } from 'chai';
import { compareItem, parseMetaPrice, readFieldsFor } from '../../src/drift/compare.ts';

/** Comparing what we sent with what Meta reads back: names, normalised values, prices as amounts. */
describe('drift: comparing an item we sent with the item Meta holds', () => {
  const sent = {
    id: 'P1',
    title: 'Shoe',
    description: 'A shoe',
    availability: 'in stock',
    condition: 'new',
    price: '1000.00 USD',
    link: 'https://shop.example/p/1',
    image_link: 'https://shop.example/p/1.jpg',
    brand: 'Acme',
  };
  const fields = [
    'title',
    'description',
    'availability',
    'condition',
    'price',
    'link',
    'image_link',
    'brand',
  ];
  const meta = {
    id: '1000000000000001',
    retailer_id: 'P1',
    name: 'Shoe ',
    description: 'A shoe',
    availability: 'In Stock',
    condition: 'new',
    price: '$1,000.00',
    currency: 'USD',
    url: 'https://shop.example/p/1',
    image_url: 'https://shop.example/p/1.jpg',
    brand: 'Acme',
  };

  it('asks Meta for the read names of the fields we send', () => {
    expect(readFieldsFor(fields)).to.deep.equal([
      'retailer_id',
      'name',
      'description',
      'availability',
      'condition',
      'price',
      'currency',
      'url',
      'image_url',
      'brand',
    ]);
  });

  it('finds nothing when Meta holds what we sent, however it displays it', () => {
    expect(compareItem(sent, meta, fields)).to.deep.equal([]);
  });

  it('names every field that differs, with both values as given', () => {
    const diffs = compareItem(sent, { ...meta, price: '$1.00', name: 'Boot', image_url: undefined }, fields);
    expect(diffs).to.deep.equal([
      { field: 'title', sent: 'Shoe', meta: 'Boot' },
      { field: 'price', sent: '1000.00 USD', meta: '$1.00' },
      { field: 'image_link', sent: 'https://shop.example/p/1.jpg', meta: null },
    ]);
    expect(compareItem({ ...sent, gtin: undefined }, meta, [...fields, 'gtin'])).to.deep.equal([]);
  });

  it('reads display prices with the currency’s own decimals', () => {
    expect(parseMetaPrice('$9.99', 'USD')).to.deep.equal({ amount: 9.99, currency: 'USD' });
    expect(parseMetaPrice('1.000,50 €', 'EUR')).to.deep.equal({ amount: 1000.5, currency: 'EUR' });
    expect(parseMetaPrice('¥1,000', 'JPY')).to.deep.equal({ amount: 1000, currency: 'JPY' });
    expect(parseMetaPrice('9.99 USD', undefined)).to.deep.equal({ amount: 9.99, currency: 'USD' });
    expect(parseMetaPrice('free', 'USD')).to.equal(null);
    expect(compareItem({ price: '9.99 USD' }, { price: '9.99 EUR' }, ['price'])).to.have.length(1);
  });
});
