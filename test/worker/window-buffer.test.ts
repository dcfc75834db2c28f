import { expect } from 'chai';
import type { CatalogItem } from '../../src/meta/types.ts';
import {
  emptyCounts,
  FileRowCollector,
  WindowBuffer,
  type WindowSource,
} from '../../src/worker/window-buffer.ts';

const item = (id: string, title: string): CatalogItem => ({ id, title });
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
const file = (src: WindowSource, rows: [string, string][]) => {
  const c = new FileRowCollector();
  rows.forEach(([id, title], i) => c.accept(item(id, title), i + 2));
  src.rows = c.counts;
  return { source: src, rows: c.rows };
};

describe('window buffer', () => {
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
    expect(w.candidates.get('1')!.item.title).to.equal('new');
    expect(w.candidates.get('3')!.item.title).to.equal('old');
    expect(older.rows.superseded).to.equal(1);
    expect(newer.rows.superseded).to.equal(0);
  });

  it('orders versions of the same key by sequencer when the times are equal', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    w.addFile(file(source('landing/a.csv', 1000, '0055AED6DCD9028200'), [['1', 'second']]));
    w.addFile(file(source('landing/a.csv', 1000, '0055AED6DCD90281E5'), [['1', 'first']]));
    expect(w.candidates.get('1')!.item.title).to.equal('second');
  });

  it('within one file the later line wins', () => {
    const c = new FileRowCollector();
    c.accept(item('1', 'a'), 2);
    c.accept(item('1', 'b'), 3);
    expect(c.rows.get('1')).to.deep.equal({ item: item('1', 'b'), line: 3 });
    expect(c.counts).to.include({ total: 2, valid: 2, superseded: 1 });
  });

  it('recognises a duplicate event for a file version already in the window', () => {
    const w = new WindowBuffer('2026-11-25T17:00:00Z');
    const s = source('landing/a.csv', 1000);
    w.addFile(file(s, [['1', 'x']]));
    expect(w.hasSource({ bucket: 'b', key: 'landing/a.csv', etag: s.etag })).to.equal(true);
    expect(w.hasSource({ bucket: 'b', key: 'landing/a.csv', etag: 'other' })).to.equal(false);
  });
});
