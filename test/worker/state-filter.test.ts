import { expect } from 'chai';
import type { ProductStateEntry } from '../../src/state/product-state.ts';
import { judgeRow, mergeEntry } from '../../src/state/state-filter.ts';

const entry = (h: string, t: number, s = 'landing/a.csv'): ProductStateEntry => ({
  h,
  t,
  s,
  q: null,
  m: 'synced/manifests/x.json',
  b: 0,
  at: t,
});
const stamp = (t: number, s = 'landing/a.csv') => ({ t, s, q: null });

describe('product state rules', () => {
  it('sends a product never sent before', () => {
    expect(judgeRow({ hash: 'h1', stamp: stamp(1) }, undefined)).to.deep.equal({ kind: 'send' });
  });

  it('skips a row older than what was sent, even with other contents', () => {
    expect(judgeRow({ hash: 'h2', stamp: stamp(1) }, entry('h1', 2))).to.deep.equal({ kind: 'older' });
  });

  it('skips identical contents, and remembers the newer stamp', () => {
    expect(judgeRow({ hash: 'h1', stamp: stamp(3) }, entry('h1', 2))).to.deep.equal({
      kind: 'unchanged',
      bumpStamp: true,
    });
    expect(judgeRow({ hash: 'h1', stamp: stamp(2) }, entry('h1', 2))).to.deep.equal({
      kind: 'unchanged',
      bumpStamp: false,
    });
  });

  it('forgets the hash of a send Meta did not take, keeping the stamp, only for that manifest', () => {
    const sent = entry('h1', 2);
    const forgotten = mergeEntry(sent, { kind: 'forget', manifestKey: 'synced/manifests/x.json' });
    expect(forgotten).to.deep.equal({ ...sent, h: '' });
    // The same row again is sent; an older one still is not.
    expect(judgeRow({ hash: 'h1', stamp: stamp(2) }, forgotten)).to.deep.equal({ kind: 'send' });
    expect(judgeRow({ hash: 'h0', stamp: stamp(1) }, forgotten)).to.deep.equal({ kind: 'older' });
    // A later manifest owns the entry now: nothing to forget.
    expect(mergeEntry(sent, { kind: 'forget', manifestKey: 'synced/manifests/other.json' })).to.equal(
      undefined,
    );
  });

  it('sends newer, changed contents', () => {
    expect(judgeRow({ hash: 'h2', stamp: stamp(3) }, entry('h1', 2))).to.deep.equal({ kind: 'send' });
  });

  it('merging never replaces a newer stamp', () => {
    expect(mergeEntry(entry('h1', 5), { kind: 'sent', entry: entry('h2', 4) })).to.equal(undefined);
    expect(mergeEntry(entry('h1', 5), { kind: 'sent', entry: entry('h2', 6) })).to.deep.equal(entry('h2', 6));
    expect(mergeEntry(undefined, { kind: 'sent', entry: entry('h2', 6) })).to.deep.equal(entry('h2', 6));
  });

  it('a stamp bump applies only while the stored contents are still the same', () => {
    expect(mergeEntry(entry('h1', 5), { kind: 'bump', entry: entry('h1', 7) })).to.include({ h: 'h1', t: 7 });
    expect(mergeEntry(entry('h9', 5), { kind: 'bump', entry: entry('h1', 7) })).to.equal(undefined);
    expect(mergeEntry(undefined, { kind: 'bump', entry: entry('h1', 7) })).to.equal(undefined);
  });
});
