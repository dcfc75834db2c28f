import { expect } from 'chai';
import { IdTable, idHash, sameId } from '../../src/worker/id-table.ts';
import { ProductIndex } from '../../src/worker/product-index.ts';

/** mulberry32: a seeded generator, so a failing random run can be replayed. */
function random(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const sku = (i: number) => `SKU-${String(i).padStart(7, '0')}`;

/** Two different ids with the same 32-bit hash, found by the birthday bound (~2^16 ids for even odds). */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const id = `c${i}`;
    const other = seen.get(idHash(id));
    if (other !== undefined) return [other, id];
    seen.set(idHash(id), id);
  }
}

const UNICODE_IDS = [
  'é',
  'e\u0301', // the same letter decomposed: a different id
  '漢字',
  '😀',
  'a😀b',
  '😀😀',
  'ÿ',
  '\u007f',
  '\u0080',
  '\u07ff',
  '\u0800',
  '\uffff',
  '\u{10000}',
  '\u{10ffff}',
  'SKU-é-001',
  'Ä'.repeat(100),
  '🧪'.repeat(100),
];

describe('id table', () => {
  it('gives each new id the next slot and finds every id across growth, and no other', () => {
    const table = new IdTable();
    const n = 200_000;
    // Mismatches are collected rather than asserted one by one: chai per id would take seconds.
    const wrong: string[] = [];
    for (let i = 0; i < n; i++) {
      if (table.add(sku(i)) !== i) wrong.push(`add ${i}`);
      // Right after each doubling, every earlier id is still where it was.
      if ((i & (i - 1)) === 0)
        for (let j = 0; j <= i; j++) if (table.slot(sku(j)) !== j) wrong.push(`${j}@${i}`);
    }
    for (let i = 0; i < n; i++) if (table.slot(sku(i)) !== i) wrong.push(`slot ${i}`);
    for (let i = n; i < 2 * n; i++) if (table.slot(sku(i)) !== undefined) wrong.push(`absent ${i}`);
    for (let i = 0; i < n; i += 997) if (table.idAt(i) !== sku(i)) wrong.push(`idAt ${i}`);
    expect(wrong.slice(0, 10)).to.deep.equal([]);
    expect(table.size).to.equal(n);
  });

  it('refuses an id it already has', () => {
    const table = new IdTable();
    table.add('A1');
    expect(() => table.add('A1')).to.throw(/already in slot 0/);
    expect(table.size).to.equal(1);
  });

  it('keeps non-ASCII ids apart and gives them back as they were', () => {
    const table = new IdTable();
    UNICODE_IDS.forEach((id, i) => expect(table.add(id), id).to.equal(i));
    UNICODE_IDS.forEach((id, i) => {
      expect(table.slot(id), id).to.equal(i);
      expect(table.idAt(i)).to.equal(id);
    });
    for (const absent of ['e', 'E\u0301', '漢', '字', '😁', 'a😀', '😀b', 'Ä'.repeat(99), '🧪'.repeat(101)])
      expect(table.slot(absent), absent).to.equal(undefined);
  });

  it('tells apart ids that are prefixes of each other', () => {
    const table = new IdTable();
    const ids = ['A10', 'A1', 'A', 'A100', '1', '0', 'A1A1', 'AA'];
    ids.forEach((id) => table.add(id));
    ids.forEach((id, i) => expect(table.slot(id), id).to.equal(i));
    // "A1" then "0" are the bytes "A10" in a row: neither slot is "A10" but its own.
    const bytes = Buffer.from('A10');
    expect(sameId(bytes, 0, 2, 'A10')).to.equal(false);
    expect(sameId(bytes, 0, 2, 'A1')).to.equal(true);
    expect(sameId(bytes, 0, 3, 'A1')).to.equal(false);
    const utf8 = Buffer.from('é😀漢x');
    expect(sameId(utf8, 0, 2, 'é')).to.equal(true);
    expect(sameId(utf8, 0, 6, 'é😀')).to.equal(true);
    expect(sameId(utf8, 0, 9, 'é😀漢')).to.equal(true);
    expect(sameId(utf8, 0, 9, 'é😀漢x')).to.equal(false);
    expect(sameId(utf8, 2, 6, '😀')).to.equal(true);
    expect(sameId(utf8, 2, 6, '😁')).to.equal(false);
    expect(sameId(utf8, 0, 0, '')).to.equal(true);
  });

  it('compares every byte of every UTF-8 length against the id', () => {
    const chars = [
      'A',
      '\u007f',
      'é',
      'ѩ',
      '\u07ff',
      '\u0800',
      '漢',
      '\uffff',
      '\u{10000}',
      '😀',
      '\u{10ffff}',
    ];
    for (const ch of chars) {
      const id = `x${ch}y`;
      const bytes = Buffer.from(id);
      expect(sameId(bytes, 0, bytes.length, id), id).to.equal(true);
      for (let k = 0; k < bytes.length; k++)
        for (let bit = 0; bit < 8; bit++) {
          const changed = Buffer.from(bytes);
          changed[k] = changed[k]! ^ (1 << bit);
          expect(sameId(changed, 0, changed.length, id), `${id}: byte ${k} bit ${bit}`).to.equal(false);
        }
    }
  });

  it('finds ids whose hashes are equal, and ids that share buckets in a small table', () => {
    const [a, b] = collidingPair();
    expect(a).to.not.equal(b);
    expect(idHash(a)).to.equal(idHash(b));
    const table = new IdTable(2);
    expect(table.add(a)).to.equal(0);
    expect(table.slot(b)).to.equal(undefined);
    expect(table.add(b)).to.equal(1);
    expect([table.slot(a), table.slot(b)]).to.deep.equal([0, 1]);
    for (let i = 0; i < 5000; i++) table.add(sku(i));
    expect([table.slot(a), table.slot(b), table.slot(sku(4999))]).to.deep.equal([0, 1, 5001]);
    expect(() => new IdTable(3)).to.throw(RangeError);
  });

  it('after clear() is empty and gives slots from 0 again', () => {
    const table = new IdTable();
    for (let i = 0; i < 5000; i++) table.add(sku(i));
    table.clear();
    expect(table.size).to.equal(0);
    expect(table.slot(sku(0))).to.equal(undefined);
    expect(() => table.idAt(0)).to.throw(RangeError);
    expect(table.add(sku(42))).to.equal(0);
    expect(table.add(sku(0))).to.equal(1);
    expect([table.slot(sku(42)), table.slot(sku(0)), table.slot(sku(1))]).to.deep.equal([0, 1, undefined]);
    expect(table.idAt(0)).to.equal(sku(42));
  });

  it('holds an id longer than its first arena, and the empty id', () => {
    const table = new IdTable();
    const long = '漢'.repeat(20_000);
    table.add('x');
    expect(table.add(long)).to.equal(1);
    expect(table.add('')).to.equal(2);
    expect(table.idAt(1)).to.equal(long);
    expect([table.slot(long), table.slot(''), table.slot('x')]).to.deep.equal([1, 2, 0]);
  });

  it('keys an id by its UTF-8 form: a lone surrogate is U+FFFD, as Buffer.write stores it', () => {
    const table = new IdTable();
    expect(table.add('a\ud800')).to.equal(0);
    expect(table.slot('a\ufffd')).to.equal(0);
    expect(table.slot('a\udfff')).to.equal(0);
    expect(table.idAt(0)).to.equal('a\ufffd');
    expect(() => table.add('a\udc00')).to.throw(/already/);
  });

  it('answers as a Map does over a random run of adds, lookups and clears', () => {
    const next = random(20_260_101);
    const alphabet = ['A', 'B', '1', '0', '-', 'é', '漢', '😀', 'ß'];
    const randomId = () => {
      let id = '';
      const length = Math.floor(next() * 6);
      for (let i = 0; i < length; i++) id += alphabet[Math.floor(next() * alphabet.length)];
      return id;
    };
    const table = new IdTable(4);
    let map = new Map<string, number>();
    let ids: string[] = [];
    for (let step = 0; step < 100_000; step++) {
      const id = randomId();
      const r = next();
      if (r < 0.0005) {
        table.clear();
        map = new Map();
        ids = [];
      } else if (r < 0.5) {
        if (map.has(id)) expect(() => table.add(id)).to.throw();
        else {
          map.set(id, ids.length);
          ids.push(id);
          expect(table.add(id)).to.equal(map.get(id));
        }
      } else expect(table.slot(id), id).to.equal(map.get(id));
      if (ids.length > 0 && step % 17 === 0) {
        const slot = Math.floor(next() * ids.length);
        expect(table.idAt(slot)).to.equal(ids[slot]);
      }
      expect(table.size).to.equal(map.size);
    }
    for (const [id, slot] of map) expect(table.slot(id)).to.equal(slot);
  });

  it('is what a product index keeps its ids in: rows and iteration give them back', () => {
    const index = new ProductIndex([{ sourceTime: 1, sourceKey: 'k', sequencer: 's', etag: 'e' }]);
    const row = (id: string, line: number) => ({
      id,
      hash: 'c'.repeat(32),
      line,
      at: 0,
      len: 1,
      version: null,
      price: null,
      availability: null,
    });
    UNICODE_IDS.forEach((id, i) => index.put(row(id, i), 0));
    expect(index.put(row('漢字', 99), 0)).to.equal(2);
    expect([...index].map(([id]) => id)).to.deep.equal(UNICODE_IDS);
    expect(index.row(2).id).to.equal('漢字');
    expect(index.get('漢字')!.line).to.equal(99);
    index.clear();
    expect(index.size).to.equal(0);
    expect(index.get('漢字')).to.equal(undefined);
    expect(index.put(row('😀', 1), 0)).to.equal(0);
  });
});
