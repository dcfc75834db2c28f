import { expect } from 'chai';
import { normaliseColumnMap, resolveHeader } from '../../src/ingest/header.ts';

const CONTRACT = ['id', 'title', 'description', 'link', 'image_link', 'availability', 'price', 'brand'];

function resolve(names: string[], columnMap: Record<string, string> = {}) {
  return resolveHeader(names, normaliseColumnMap(columnMap));
}

describe('ingest header', () => {
  it('finds the contract columns in any order, whatever their case and surrounding spaces', () => {
    const result = resolve([
      'Brand',
      ' PRICE ',
      'availability',
      'Image Link',
      'LINK',
      'description',
      'Title',
      'ID',
    ]);
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.layout.width).to.equal(8);
    expect(result.layout.idIndex).to.equal(7);
    expect(result.layout.columns).to.deep.equal([
      { field: 'id', index: 7 },
      { field: 'title', index: 6 },
      { field: 'description', index: 5 },
      { field: 'link', index: 4 },
      { field: 'image_link', index: 3 },
      { field: 'availability', index: 2 },
      { field: 'price', index: 1 },
      { field: 'brand', index: 0 },
    ]);
  });

  it('ignores unmapped extra and unnamed columns, uses `condition`, and adds mapped extras in header order', () => {
    const result = resolve([...CONTRACT, 'internal note', 'Sale', '', 'condition', 'gtin'], {
      gtin: 'gtin',
      sale: 'sale_price',
    });
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.layout.columns.slice(8)).to.deep.equal([
      { field: 'condition', index: 11 },
      { field: 'sale_price', index: 9 },
      { field: 'gtin', index: 12 },
    ]);
  });

  it('lets COLUMN_MAP rename a contract column', () => {
    const names = CONTRACT.map((n) => (n === 'title' ? 'Product Name' : n));
    const result = resolve(names, { 'product name': 'title' });
    expect(result.ok && result.layout.columns.find((c) => c.field === 'title')).to.deep.equal({
      field: 'title',
      index: 1,
    });
  });

  it('names the missing required columns', () => {
    expect(resolve(['id', 'title', 'description', 'link', 'image_link', 'availability'])).to.deep.include({
      ok: false,
      problem: 'missing-columns',
    });
    const result = resolve(['sku', 'name']);
    expect(!result.ok && result.message).to.match(
      /^the header lacks required columns id, title, description, link, image_link, availability, price, brand/,
    );
  });

  it('refuses two columns that give the same field, by name or through COLUMN_MAP', () => {
    expect(resolve([...CONTRACT, 'ID'])).to.deep.equal({
      ok: false,
      problem: 'duplicate-columns',
      message: 'columns "id" (column 1) and "ID" (column 9) both give id',
    });
    expect(resolve([...CONTRACT, 'name'], { name: 'title' })).to.deep.include({
      ok: false,
      problem: 'duplicate-columns',
    });
  });

  it('recognises a semicolon-separated header instead of reporting every column missing', () => {
    expect(resolve([CONTRACT.join(';')])).to.deep.include({ ok: false, problem: 'not-csv' });
  });
});
