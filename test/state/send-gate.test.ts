import type { ProductStateEntry, SourceStamp } from '../../src/contract/product-state.ts';
import { expect } from 'chai';
import { compareStamps, isKeyTie } from '../../src/state/product-state.ts';
import { judge, mergeEntry } from '../../src/state/send-gate.ts';

const SECOND = 1000;
const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const stamp = (
  t: number,
  s = 'landing/a.csv',
  q: string | null = null,
  v: number | null = null,
): SourceStamp => ({
  sourceTime: t,
  sourceKey: s,
  sequencer: q,
  version: v,
});
const entry = (h: string, st: SourceStamp, extra: Partial<ProductStateEntry> = {}): ProductStateEntry => ({
  contentHash: h,
  ...st,
  manifestKey: 'synced/manifests/x.json',
  batchIndex: 0,
  decidedAt: T0,
  ...extra,
});

describe('ordering rule (compareStamps)', () => {
  it('a straggler (LastModified, whole seconds) of a later file beats an event of an earlier file in the same second', () => {
    // export-10 was created at 10:00:00.900; its event was lost, so the DAG's straggler carries 10:00:00.000.
    const straggler = stamp(T0, 'landing/export-10.csv');
    const event = stamp(T0 + 500, 'landing/export-9.csv', '0055AED6DCD90281E5');
    expect(compareStamps(straggler, event)).to.be.greaterThan(0);
    expect(compareStamps(event, straggler)).to.be.lessThan(0);
    expect(isKeyTie(straggler, event)).to.equal(true);
  });

  it('a straggler of a file (LastModified, no sequencer) is the same source as the event of that file, not an older one', () => {
    const etag = '2cbc76a279cb49842192f436e0df882d';
    const event = { ...stamp(T0 + 640, 'landing/export-47.csv', '0055AED6DCD90281E5'), etag };
    const straggler = { ...stamp(T0, 'landing/export-47.csv', etag), etag };
    expect(compareStamps(straggler, event)).to.equal(0);
    expect(compareStamps(event, straggler)).to.equal(0);
    // Its send failed (refused token): the state says the event's send was not accepted, so the straggler goes.
    const refused = entry('', event);
    expect(judge({ hash: 'h47', stamp: straggler }, { entry: refused, now: T0 + 60 * SECOND })).to.include({
      kind: 'send',
    });
    // Another version of the same key in the same second is still ordered by time.
    const other = { ...stamp(T0 + 900, 'landing/export-47.csv', 'X'), etag: 'other' };
    expect(compareStamps(other, event)).to.be.greaterThan(0);
  });

  it('orders keys numeric-aware within a second (export-10 after export-9), and by second across seconds', () => {
    expect(
      compareStamps(stamp(T0, 'landing/export-10.csv'), stamp(T0, 'landing/export-9.csv')),
    ).to.be.greaterThan(0);
    expect(
      compareStamps(stamp(T0 + SECOND, 'landing/a.csv'), stamp(T0 + 999, 'landing/z.csv')),
    ).to.be.greaterThan(0);
    expect(isKeyTie(stamp(T0 + SECOND, 'a'), stamp(T0, 'b'))).to.equal(false);
  });

  it('orders versions of one key by time, then sequencer; the same source compares equal', () => {
    expect(compareStamps(stamp(T0 + 5, 'k', 'A'), stamp(T0 + 4, 'k', 'B'))).to.be.greaterThan(0);
    expect(
      compareStamps(stamp(T0, 'k', '0055AED6DCD90281E6'), stamp(T0, 'k', '0055AED6DCD90281E5')),
    ).to.be.greaterThan(0);
    // Sequencers of different lengths compare right-padded.
    expect(
      compareStamps(stamp(T0, 'k', '0055AED6DCD9028'), stamp(T0, 'k', '0055AED6DCD90281E5')),
    ).to.be.lessThan(0);
    expect(compareStamps(stamp(T0, 'k', 'A'), stamp(T0, 'k', 'A'))).to.equal(0);
  });

  it('a version column decides first, whatever the files; a row with a version beats state without one', () => {
    expect(compareStamps(stamp(T0, 'a', null, 7), stamp(T0 + 3600 * SECOND, 'b', null, 6))).to.be.greaterThan(
      0,
    );
    expect(compareStamps(stamp(T0, 'a', null, 1), stamp(T0 + SECOND, 'b'))).to.be.greaterThan(0);
    expect(compareStamps(stamp(T0, 'a', null, 5), stamp(T0 + SECOND, 'b', null, 5))).to.be.lessThan(0);
  });

  it('is transitive over a shuffled set of stamps (a total order)', () => {
    const all: SourceStamp[] = [];
    for (const key of ['landing/export-1.csv', 'landing/export-2.csv', 'landing/export-10.csv'])
      for (const t of [T0, T0 + 1, T0 + 999, T0 + SECOND, T0 + SECOND + 5])
        for (const q of [null, 'A', 'B']) all.push(stamp(t, key, q));
    const sorted = [...all].sort(compareStamps);
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++)
        expect(compareStamps(sorted[i]!, sorted[j]!)).to.be.at.most(0);
  });
});

describe('send gate (judge)', () => {
  const older = stamp(T0, 'landing/export-1.csv');
  const newer = stamp(T0 + SECOND, 'landing/export-2.csv');
  const now = T0 + 10 * SECOND;

  it('sends what the state has never seen, never what is older than the newest known, on every path', () => {
    expect(judge({ hash: 'h', stamp: older }, { entry: undefined, now })).to.deep.equal({
      kind: 'send',
      settlesAt: null,
    });
    for (const resend of [false, true]) {
      expect(judge({ hash: 'h1', stamp: older }, { entry: entry('h2', newer), now, resend })).to.deep.equal({
        kind: 'older',
      });
    }
  });

  it('a resend of the same source goes again; a first send of identical accepted content does not', () => {
    expect(judge({ hash: 'h1', stamp: older }, { entry: entry('h1', older), now, resend: true })).to.include({
      kind: 'send',
    });
    expect(judge({ hash: 'h1', stamp: older }, { entry: entry('h1', older), now })).to.deep.equal({
      kind: 'unchanged',
      bumpStamp: false,
    });
    expect(judge({ hash: 'h1', stamp: newer }, { entry: entry('h1', older), now })).to.deep.equal({
      kind: 'unchanged',
      bumpStamp: true,
    });
    // Not accepted (h cleared): identical content is sent again.
    expect(judge({ hash: 'h1', stamp: newer }, { entry: entry('', older), now })).to.include({
      kind: 'send',
    });
  });

  it('newer content waits while an earlier batch holding the product runs, and goes once it is final', () => {
    const open = entry('h1', older, { open: true });
    expect(
      judge({ hash: 'h2', stamp: newer }, { entry: open, fate: { kind: 'running', handle: 'H' }, now }),
    ).to.include({
      kind: 'wait',
    });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: open, now })).to.include({ kind: 'wait' });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: open, fate: { kind: 'final' }, now })).to.include({
      kind: 'send',
    });
    // Final but not yet settled in the state: identical content is not known to be at Meta, so it goes.
    expect(judge({ hash: 'h1', stamp: newer }, { entry: open, fate: { kind: 'final' }, now })).to.include({
      kind: 'send',
    });
  });

  it('a send without a recorded handle: the same source may go at once (and keeps the settle time), other content waits for it to settle', () => {
    const open = entry('h1', older, { open: true });
    const fate = { kind: 'unrecorded', settlesAt: now + 60 * SECOND } as const;
    expect(judge({ hash: 'h1', stamp: older }, { entry: open, fate, now, resend: true })).to.deep.equal({
      kind: 'send',
      settlesAt: now + 60 * SECOND,
    });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: open, fate, now })).to.deep.equal({
      kind: 'wait',
      until: now + 60 * SECOND,
      reason: 'an earlier send has no recorded handle',
    });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: open, fate, now: now + 61 * SECOND })).to.include({
      kind: 'send',
    });
    // After a same-source resend the settle time travels with the entry.
    const resent = entry('h1', older, { settleUntil: now + 60 * SECOND });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: resent, now })).to.include({ kind: 'wait' });
    expect(judge({ hash: 'h2', stamp: newer }, { entry: resent, now: now + 61 * SECOND })).to.include({
      kind: 'send',
    });
  });
});

describe('send gate (mergeEntry)', () => {
  const a = stamp(T0, 'landing/export-1.csv');
  const b = stamp(T0 + SECOND, 'landing/export-2.csv');

  it('a decided send never replaces a newer one', () => {
    expect(mergeEntry(entry('h2', b), { kind: 'decided', entry: entry('h1', a, { open: true }) })).to.equal(
      undefined,
    );
    expect(mergeEntry(entry('h1', a), { kind: 'decided', entry: entry('h2', b, { open: true }) })).to.include(
      { contentHash: 'h2', open: true },
    );
  });

  it('settling applies only to the batch the entry names; rejected or unknown clears the hash', () => {
    const open = entry('h1', a, { open: true, manifestKey: 'M', batchIndex: 3 });
    expect(mergeEntry(open, { kind: 'settled', manifestKey: 'M', batch: 2, accepted: true })).to.equal(
      undefined,
    );
    expect(mergeEntry(open, { kind: 'settled', manifestKey: 'N', batch: 3, accepted: true })).to.equal(
      undefined,
    );
    const ok = mergeEntry(open, { kind: 'settled', manifestKey: 'M', batch: 3, accepted: true })!;
    expect(ok).to.include({ contentHash: 'h1' });
    expect(ok).not.to.have.property('open');
    expect(mergeEntry(open, { kind: 'settled', manifestKey: 'M', batch: 3, accepted: false })).to.include({
      contentHash: '',
    });
  });

  it('a bump moves the stamp of settled identical content only', () => {
    expect(mergeEntry(entry('h1', a), { kind: 'bump', entry: entry('h1', b) })).to.include({
      sourceTime: b.sourceTime,
      sourceKey: b.sourceKey,
    });
    expect(mergeEntry(entry('h1', a, { open: true }), { kind: 'bump', entry: entry('h1', b) })).to.equal(
      undefined,
    );
    expect(mergeEntry(entry('h9', a), { kind: 'bump', entry: entry('h1', b) })).to.equal(undefined);
  });
});
