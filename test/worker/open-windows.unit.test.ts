import { expect } from 'chai';
import type { FlushReason } from '../../src/worker/debounce.ts';
import { OpenWindows, type OpenWindow } from '../../src/worker/open-windows.ts';
import { ProductIndex } from '../../src/worker/product-index.ts';
import {
  emptyCounts,
  sourceStamp,
  type FileIndex,
  type WindowSource,
} from '../../src/worker/window-buffer.ts';

function file(key: string, ids: string[]): FileIndex {
  const source: WindowSource = {
    bucket: 'landing',
    key,
    etag: `etag-${key}`,
    versionId: null,
    sequencer: '01',
    eventTime: 0,
    size: null,
    fileError: null,
    errorReportKey: null,
    rows: { ...emptyCounts(), total: ids.length, valid: ids.length },
  };
  // No spool: these windows are never flushed, only opened, grown and closed.
  const entries = new ProductIndex([sourceStamp(source)]);
  ids.forEach((id, i) =>
    entries.put(
      {
        id,
        hash: '0'.repeat(32),
        line: i + 2,
        version: null,
        price: null,
        availability: null,
        at: 0,
        len: 0,
      },
      0,
    ),
  );
  return { source, spool: null, entries };
}

function windows(maxItems = 100) {
  let now = 0;
  let seq = 0;
  const closed: [string, FlushReason][] = [];
  const w = new OpenWindows({
    timing: { quietMs: 1000, maxHoldMs: 5000, maxItems },
    now: () => now,
    newTask: (name) => `${name}#${++seq}`,
    onClose: (open: OpenWindow, reason) => closed.push([open.buffer.window, reason]),
  });
  return { w, closed, setNow: (t: number) => (now = t) };
}

describe('open windows (unit)', () => {
  it('one window per hour, one task each; a file already in the window is not added twice', () => {
    const { w } = windows();
    const a = w.addFile('2026-01-01T10', file('a.csv', ['1', '2']), false);
    const again = w.addFile('2026-01-01T10', file('a.csv', ['1', '2']), true);
    const b = w.addFile('2026-01-01T11', file('b.csv', ['3']), false);
    expect(again).to.equal(a);
    expect(a.buffer.sources).to.have.length(1);
    expect(a.buffer.redelivered).to.equal(true);
    expect(a.task).to.not.equal(b.task);
    expect(w.size).to.equal(2);
  });

  it('schedule closes a window once quiet, and not before', () => {
    const { w, closed, setNow } = windows();
    w.addFile('2026-01-01T10', file('a.csv', ['1']), false);
    setNow(999);
    w.schedule();
    expect(closed).to.deep.equal([]);
    setNow(1000);
    w.schedule();
    expect(closed).to.deep.equal([['2026-01-01T10', 'quiet']]);
    expect(w.size).to.equal(0);
    w.freeze();
  });

  it('closing twice hands the window over once; a later file opens a new window', () => {
    const { w, closed } = windows();
    const open = w.addFile('2026-01-01T10', file('a.csv', ['1']), false);
    w.close(open, 'max-items');
    w.close(open, 'max-items');
    expect(closed).to.have.length(1);
    const next = w.addFile('2026-01-01T10', file('b.csv', ['2']), false);
    expect(next).to.not.equal(open);
  });

  it('frozen windows are not closed by schedule; thawed ones are', () => {
    const { w, closed, setNow } = windows();
    w.addFile('2026-01-01T10', file('a.csv', ['1']), false);
    expect(w.freeze()).to.have.length(1);
    setNow(10_000);
    w.schedule();
    expect(closed).to.deep.equal([]);
    w.thaw();
    w.schedule();
    expect(closed).to.deep.equal([['2026-01-01T10', 'max-hold']]);
  });

  it('closeAll closes every window with the reason; discard forgets them without closing', () => {
    const { w, closed } = windows();
    w.addFile('2026-01-01T10', file('a.csv', ['1']), false);
    w.addFile('2026-01-01T11', file('b.csv', ['2']), false);
    w.closeAll('backpressure');
    expect(closed.map(([, r]) => r)).to.deep.equal(['backpressure', 'backpressure']);
    w.addFile('2026-01-01T12', file('c.csv', ['3']), false);
    expect(w.discard()).to.have.length(1);
    expect(w.size).to.equal(0);
    expect(closed).to.have.length(2);
  });
});
