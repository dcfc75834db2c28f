import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CatalogItem } from '../../src/meta/types.ts';
import { contentHash } from '../../src/state/product-state.ts';
import { Spool } from '../../src/worker/spool.ts';
import {
  emptyCounts,
  FileIndexBuilder,
  sourceStamp,
  WindowBuffer,
  type IndexEntry,
  type WindowSource,
} from '../../src/worker/window-buffer.ts';

const item = (id: string, title: string): CatalogItem => ({ id, title, price: '1.00 USD' });
const source = (key: string, eventTime: number, sequencer: string | null = null): WindowSource => ({
  bucket: 'b',
  key,
  etag: `etag-${key}-${eventTime}`,
  versionId: null,
  sequencer,
  eventTime,
  size: null,
  fileError: null,
  errorReportKey: null,
  rows: emptyCounts(),
});

describe('window buffer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'window-buffer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (src: WindowSource, rows: [string, string][]) => {
    const spool = Spool.create(dir);
    const c = new FileIndexBuilder(spool, sourceStamp(src));
    rows.forEach(([id, title], i) => c.accept(item(id, title), i + 2));
    src.rows = c.counts;
    return { source: src, spool, entries: c.entries };
  };
  const itemOf = (w: WindowBuffer, id: string) => w.items([w.candidates.get(id)!])[0]!;

  it('keeps the newest row per id whatever the order files arrive in', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    const newer = source('landing/b.csv', 2000);
    const older = source('landing/a.csv', 1000);
    w.addFile(
      file(newer, [
        ['1', 'new'],
        ['2', 'new'],
      ]),
    );
    w.addFile(
      file(older, [
        ['1', 'old'],
        ['3', 'old'],
      ]),
    );
    expect(itemOf(w, '1').title).to.equal('new');
    expect(itemOf(w, '3').title).to.equal('old');
    expect(older.rows.superseded).to.equal(1);
    expect(newer.rows.superseded).to.equal(0);
  });

  it('orders versions of the same key by sequencer when the times are equal', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    w.addFile(file(source('landing/a.csv', 1000, '0055AED6DCD9028200'), [['1', 'second']]));
    w.addFile(file(source('landing/a.csv', 1000, '0055AED6DCD90281E5'), [['1', 'first']]));
    expect(itemOf(w, '1').title).to.equal('second');
  });

  it('within one file the later line wins', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    const s = source('landing/a.csv', 1000);
    const f = file(s, [
      ['1', 'a'],
      ['1', 'b'],
    ]);
    w.addFile(f);
    expect(w.candidates.get('1')!.line).to.equal(3);
    expect(itemOf(w, '1')).to.deep.equal(item('1', 'b'));
    expect(s.rows).to.include({ total: 2, valid: 2, superseded: 1 });
  });

  it('a newer row of a product keeps its position in the window', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    w.addFile(
      file(source('landing/a.csv', 1000), [
        ['1', 'a'],
        ['2', 'a'],
      ]),
    );
    w.addFile(file(source('landing/b.csv', 2000), [['1', 'b']]));
    expect([...w.candidates.values()].map((e) => [e.id, e.n, e.source])).to.deep.equal([
      ['1', 0, 1],
      ['2', 1, 0],
    ]);
  });

  it('recognises a duplicate event for a file version already in the window', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    const s = source('landing/a.csv', 1000);
    w.addFile(file(s, [['1', 'x']]));
    expect(w.hasSource({ bucket: 'b', key: 'landing/a.csv', etag: s.etag })).to.equal(true);
    expect(w.hasSource({ bucket: 'b', key: 'landing/a.csv', etag: 'other' })).to.equal(false);
  });

  it('holds no item in memory: an index entry is where the item is, its hash and the guardrail values', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    w.addFile(file(source('landing/a.csv', 1000), [['1', 'a title that stays on disk']]));
    const entry: IndexEntry = w.candidates.get('1')!;
    // A view of its slot: the only thing it holds itself is the position.
    expect(Object.keys(entry)).to.deep.equal(['n']);
    expect(Object.keys(JSON.parse(JSON.stringify(entry)) as object).sort()).to.deep.equal(
      ['at', 'availability', 'hash', 'id', 'len', 'line', 'n', 'price', 'source', 'stamp'].sort(),
    );
    expect(JSON.stringify(entry)).not.to.include('a title that stays on disk');
    expect(entry).to.include({ id: '1', price: '1.00 USD', availability: null, line: 2, source: 0, n: 0 });
    // The strings the index keeps are the id and the price; the title is only in the spool file.
    expect(w.items([entry])[0]!.title).to.equal('a title that stays on disk');
  });

  it('keeps the hash, the version and the availability of each row in its columns', () => {
    const s = source('landing/a.csv', 1000);
    const spool = Spool.create(dir);
    const c = new FileIndexBuilder(spool, sourceStamp(s));
    c.accept({ id: 'v', title: 't', availability: 'in stock' }, 2, 7);
    c.accept({ id: 'v', title: 'older', availability: 'out of stock' }, 3, 6);
    c.accept({ id: 'w', title: 'u' }, 4);
    const v = c.entries.get('v')!;
    expect(v.hash).to.equal(contentHash({ id: 'v', title: 't', availability: 'in stock' }));
    expect([v.line, v.stamp.version, v.availability]).to.deep.equal([2, 7, 'in stock']);
    expect(c.entries.get('w')!.stamp.version).to.equal(undefined);
    spool.remove();
  });

  it('rows of one file share its stamp object', () => {
    const s = source('landing/a.csv', 1000);
    const f = file(s, [
      ['1', 'a'],
      ['2', 'b'],
    ]);
    expect(f.entries.get('1')!.stamp).to.equal(f.entries.get('2')!.stamp);
  });

  it('removes its spool files when disposed, and reading afterwards fails', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    w.addFile(file(source('landing/a.csv', 1000), [['1', 'a']]));
    w.addFile(file(source('landing/b.csv', 2000), [['2', 'b']]));
    expect(readdirSync(dir)).to.have.length(2);
    w.dispose();
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(() => w.items([w.candidates.get('1')!])).to.throw(/gone/);
  });
});
