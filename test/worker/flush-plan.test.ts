import { expect } from 'chai';
import type { ProductStateEntry, SourceStamp } from '../../src/contract/product-state.ts';
import {
  decidedEntry,
  decideSlice,
  entryBytes,
  manifestDraft,
  payloadBody,
  planEntryChunks,
  unsentBatch,
  type Verdict,
} from '../../src/worker/flush-plan.ts';
import type { IndexEntry, WindowSource } from '../../src/worker/window-buffer.ts';
import { windowSource } from '../support/window-source.ts';

/** The pure part of a flush: no AWS, no spool, no items. */
describe('flush planning (pure)', () => {
  const stamp: SourceStamp = { sourceTime: 2000, sourceKey: 'landing/b.csv', sequencer: 'e2', etag: 'e2' };
  const sources = (): WindowSource[] =>
    ['landing/a.csv', 'landing/b.csv'].map((key) =>
      windowSource(key, { total: 2, valid: 2, rejected: key.endsWith('a.csv') ? 1 : 0 }),
    );
  let n = 0;
  const entry = (id: string, len = 100, source = 1, v?: number): IndexEntry => ({
    id,
    hash: `h-${id}`,
    stamp: v === undefined ? stamp : { ...stamp, version: v },
    line: n + 2,
    source,
    n: n++,
    at: n * 1000,
    len,
    price: '9.99 USD',
    availability: 'in stock',
  });
  const last: ProductStateEntry = {
    contentHash: 'old',
    sourceTime: 1000,
    sourceKey: 'landing/a.csv',
    sequencer: 'e1',
    manifestKey: 'k0',
    batchIndex: 0,
    decidedAt: 1,
  };

  it('verdicts → sends, stamp bumps and settle times; older and unchanged rows counted on their file', () => {
    const es = [entry('new'), entry('old', 100, 0), entry('same'), entry('same-bump'), entry('open')];
    const verdicts = new Map<string, Verdict>([
      ['new', { kind: 'send', settlesAt: null }],
      ['old', { kind: 'older' }],
      ['same', { kind: 'unchanged', bumpStamp: false }],
      ['same-bump', { kind: 'unchanged', bumpStamp: true }],
      ['open', { kind: 'send', settlesAt: 5000 }],
    ]);
    const srcs = sources();
    const d = decideSlice(es, verdicts, new Map([['same-bump', last]]), srcs);
    expect(d.send.map((e) => e.id)).to.deep.equal(['new', 'open']);
    expect([...d.settlesAt]).to.deep.equal([['open', 5000]]);
    expect([...d.bumps]).to.deep.equal([['same-bump', { kind: 'bump', entry: { ...last, ...stamp } }]]);
    expect(srcs[0]!.rows).to.include({ older: 1, unchanged: 0 });
    expect(srcs[1]!.rows).to.include({ older: 0, unchanged: 2 });
  });

  it('a product the gate left without a verdict is an error, not a silent skip', () => {
    expect(() => decideSlice([entry('x')], new Map(), new Map(), sources())).to.throw(/no verdict for x/);
  });

  it('chunks from the spooled sizes: the item cap, then the byte limit, never over it', () => {
    const es = Array.from({ length: 12 }, (_, i) => entry(`P${i}`, 100));
    expect(
      planEntryChunks(es, { batchMaxItems: 5, maxPayloadBytes: 1_000_000 }, 50).map((c) => c.length),
    ).to.deep.equal([5, 5, 2]);
    const limit = 50 + 3 * entryBytes(es[0]!);
    const byBytes = planEntryChunks(es, { batchMaxItems: 100, maxPayloadBytes: limit }, 50);
    expect(byBytes.map((c) => c.length)).to.deep.equal([3, 3, 3, 3]);
    expect(byBytes.flat()).to.deep.equal(es);
    expect(planEntryChunks([], { batchMaxItems: 5, maxPayloadBytes: 1000 }, 50)).to.deep.equal([]);
  });

  it('manifest draft: pending with batches, held with a hold, finished with none', () => {
    const batches = [unsentBatch('synced/', 'm1', 0, 2, 500)];
    const base = {
      manifestId: 'm1',
      window: '2026-11-25T17:00:00Z',
      startedAt: Date.UTC(2026, 10, 25, 18),
      catalogId: '1',
      sources: sources(),
      items: 2,
      held: null,
    };
    const pending = manifestDraft({ ...base, batches });
    expect(pending).to.deep.include({ state: 'pending', finishedAt: null });
    expect(pending.counts).to.include({ items: 2, unknown: 2, rowsRejected: 1, calls: 0 });
    expect(pending.batches[0]).to.include({
      payloadKey: 'synced/batches/m1/0.json',
      itemCount: 2,
      payloadBytes: 500,
      status: 'unsent',
    });
    const hold = { at: '2026-11-25T18:00:00.000Z', rules: [], knownProducts: 10 };
    expect(manifestDraft({ ...base, batches, held: hold })).to.deep.include({ state: 'held', held: hold });
    const none = manifestDraft({ ...base, batches: [], items: 0 });
    expect(none).to.include({ state: 'finished', finishedAt: '2026-11-25T18:00:00.000Z' });
  });

  it('payload body and decided entry come from the index entry (origin, version, last values)', () => {
    const e = entry('P1', 40, 1, 7);
    const body = payloadBody('m1', 3, [e], [{ id: 'P1', title: 't' }], sources());
    expect(body).to.deep.equal({
      manifestId: 'm1',
      batchIndex: 3,
      requests: [{ method: 'UPDATE', data: { id: 'P1', title: 't' } }],
      origins: [{ id: 'P1', key: 'landing/b.csv', line: e.line, version: 7 }],
    });
    expect(decidedEntry(e, 'k', 3, 99, 5000)).to.deep.equal({
      contentHash: 'h-P1',
      ...stamp,
      version: 7,
      manifestKey: 'k',
      batchIndex: 3,
      decidedAt: 99,
      open: true,
      settleUntil: 5000,
      lastPrice: '9.99 USD',
      lastAvailability: 'in stock',
    });
  });
});
