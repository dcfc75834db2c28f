import type { CatalogItem } from '../../src/meta/types.ts';
import { expect } from 'chai';
import { changeFacts, parsePrice, withLastValues } from '../../src/guardrails/facts.ts';
import { median } from '../../src/guardrails/file-size-rule.ts';
import {
  DEFAULT_LIMITS,
  type ChangeFacts,
  type GuardrailInput,
} from '../../src/guardrails/guardrail-types.ts';
import { evaluateGuardrails } from '../../src/guardrails/rules.ts';

/** The guardrail rules, pure: each trips exactly past its threshold, says why, and stays quiet below. */

const usd = (amount: number) => ({ amount, currency: 'USD' });

function change(id: string, over: Partial<ChangeFacts> = {}): ChangeFacts {
  return {
    id,
    isNew: false,
    oldPrice: usd(10),
    newPrice: usd(10),
    oldAvailability: 'in stock',
    newAvailability: 'in stock',
    ...over,
  };
}

function input(over: Partial<GuardrailInput> = {}): GuardrailInput {
  return {
    knownProducts: 1000,
    changes: [],
    files: [{ key: 'landing/a.csv', rows: 100 }],
    recentFileRows: [],
    ...over,
  };
}

const many = (n: number, over: Partial<ChangeFacts> = {}) =>
  Array.from({ length: n }, (_, i) => change(`P${i}`, over));

describe('guardrails: the rules', () => {
  it('holds nothing for an ordinary window, and says which rules did not apply', () => {
    const v = evaluateGuardrails(input({ changes: many(20) }), DEFAULT_LIMITS);
    expect(v.held).to.equal(false);
    expect(v.tripped).to.deep.equal([]);
    expect(v.skipped.map((s) => s.rule)).to.include('file-size');
  });

  it('mass-change: more than 50 % of the known catalog changing trips, 50 % does not', () => {
    expect(evaluateGuardrails(input({ changes: many(500) }), DEFAULT_LIMITS).held).to.equal(false);
    const v = evaluateGuardrails(input({ changes: many(501) }), DEFAULT_LIMITS);
    expect(v.tripped.map((t) => t.rule)).to.deep.equal(['mass-change']);
    expect(v.tripped[0]!.message).to.match(
      /501 of 1000 known products \(50\.1 %\).*GUARDRAIL_MAX_CHANGED_PCT=50/,
    );
    expect(v.tripped[0]!.evidence).to.include({ count: 501, of: 1000 });
    expect(v.tripped[0]!.evidence.examples).to.have.length(10);
  });

  it('new products do not count as changing the known catalog; a small catalog is not judged in %', () => {
    expect(evaluateGuardrails(input({ changes: many(900, { isNew: true }) }), DEFAULT_LIMITS).held).to.equal(
      false,
    );
    const small = evaluateGuardrails(input({ knownProducts: 50, changes: many(50) }), DEFAULT_LIMITS);
    expect(small.held).to.equal(false);
    expect(small.skipped.find((s) => s.rule === 'mass-change')!.why).to.match(
      /GUARDRAIL_MIN_KNOWN_PRODUCTS \(100\)/,
    );
  });

  it('price-drop: more than 20 % of the re-priced items falling by more than 50 % trips', () => {
    const drops = many(3, { oldPrice: usd(100), newPrice: usd(40) });
    const rises = Array.from({ length: 7 }, (_, i) => change(`R${i}`, { newPrice: usd(12) }));
    const v = evaluateGuardrails(input({ changes: [...drops, ...rises] }), DEFAULT_LIMITS);
    expect(v.tripped.map((t) => t.rule)).to.deep.equal(['price-drop']);
    expect(v.tripped[0]!.evidence).to.include({ count: 3, of: 10 });
    expect(v.tripped[0]!.evidence.examples[0]).to.deep.equal({ id: 'P0', old: '100 USD', new: '40 USD' });
    // Exactly 50 % down is not "more than 50 %"; 2 of 10 is not "more than 20 %".
    const edge = [
      ...many(2, { oldPrice: usd(100), newPrice: usd(40) }),
      ...many(8, { newPrice: usd(5) }),
    ].map((c, i) => ({ ...c, id: `E${i}` }));
    expect(evaluateGuardrails(input({ changes: edge }), DEFAULT_LIMITS).held).to.equal(false);
  });

  it('price-drop needs GUARDRAIL_MIN_ITEMS re-priced items, and compares only prices in one currency', () => {
    const few = many(9, { oldPrice: usd(100), newPrice: usd(1) });
    const v = evaluateGuardrails(input({ changes: few }), DEFAULT_LIMITS);
    expect(v.tripped.map((t) => t.rule)).to.not.include('price-drop');
    const otherCurrency = many(20, { oldPrice: usd(100), newPrice: { amount: 1, currency: 'EUR' } });
    expect(evaluateGuardrails(input({ changes: otherCurrency }), DEFAULT_LIMITS).held).to.equal(false);
  });

  it('near-zero-price: any item at or below 0.01 trips, new products included, whatever the window size', () => {
    const v = evaluateGuardrails(
      input({
        knownProducts: 0,
        changes: [change('Z', { isNew: true, oldPrice: null, newPrice: usd(0.01) })],
      }),
      DEFAULT_LIMITS,
    );
    expect(v.tripped.map((t) => t.rule)).to.deep.equal(['near-zero-price']);
    expect(v.tripped[0]!.evidence.examples).to.deep.equal([{ id: 'Z', old: null, new: '0.01 USD' }]);
    expect(
      evaluateGuardrails(input({ changes: [change('C', { newPrice: usd(0.02) })] }), DEFAULT_LIMITS).held,
    ).to.equal(false);
    expect(
      evaluateGuardrails(input({ changes: many(3, { newPrice: usd(0) }) }), {
        ...DEFAULT_LIMITS,
        maxNearZeroItems: 3,
      }).held,
    ).to.equal(false);
  });

  it('out-of-stock: more than 30 % of the known catalog turning out of stock trips; unknown old values never count', () => {
    const turning = many(301, { newAvailability: 'out of stock' });
    const v = evaluateGuardrails(input({ changes: turning }), DEFAULT_LIMITS);
    expect(v.tripped.map((t) => t.rule)).to.deep.equal(['out-of-stock']);
    expect(v.tripped[0]!.evidence.examples[0]).to.deep.equal({
      id: 'P0',
      old: 'in stock',
      new: 'out of stock',
    });
    const unknownBefore = many(400, { oldAvailability: null, newAvailability: 'out of stock' });
    expect(evaluateGuardrails(input({ changes: unknownBefore }), DEFAULT_LIMITS).held).to.equal(false);
  });

  it('file-size: a file ten times larger or smaller than the median of the recent files trips', () => {
    const recentFileRows = [100, 90, 110, 100, 95];
    const big = evaluateGuardrails(
      input({ files: [{ key: 'landing/big.csv', rows: 1100 }], recentFileRows }),
      DEFAULT_LIMITS,
    );
    expect(big.tripped.map((t) => t.rule)).to.deep.equal(['file-size']);
    expect(big.tripped[0]!.message).to.match(
      /landing\/big\.csv has 1100 rows, 11 times more than the median of the last 5 files \(100\)/,
    );
    const small = evaluateGuardrails(
      input({ files: [{ key: 'landing/s.csv', rows: 9 }], recentFileRows }),
      DEFAULT_LIMITS,
    );
    expect(small.tripped[0]!.message).to.match(/times fewer/);
    expect(
      evaluateGuardrails(input({ files: [{ key: 'x', rows: 10 }], recentFileRows }), DEFAULT_LIMITS).held,
    ).to.equal(false);
    // Header-only files are "nothing changed"; too little history, or the rule off, judges nothing.
    expect(
      evaluateGuardrails(input({ files: [{ key: 'h', rows: 0 }], recentFileRows }), DEFAULT_LIMITS).held,
    ).to.equal(false);
    expect(
      evaluateGuardrails(
        input({ files: [{ key: 'b', rows: 5000 }], recentFileRows: [100, 100] }),
        DEFAULT_LIMITS,
      ).held,
    ).to.equal(false);
    expect(
      evaluateGuardrails(input({ files: [{ key: 'b', rows: 5000 }], recentFileRows }), {
        ...DEFAULT_LIMITS,
        fileSizeRatio: 0,
      }).held,
    ).to.equal(false);
  });

  it('reports every rule a window trips', () => {
    const v = evaluateGuardrails(
      input({
        changes: many(600, { oldPrice: usd(10), newPrice: usd(0.01), newAvailability: 'out of stock' }),
      }),
      DEFAULT_LIMITS,
    );
    expect(v.tripped.map((t) => t.rule)).to.deep.equal([
      'mass-change',
      'price-drop',
      'near-zero-price',
      'out-of-stock',
    ]);
  });

  it('median', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 2, 3])).to.equal(2.5);
  });
});

describe('guardrails: facts from the product state', () => {
  const entry = {
    contentHash: 'abc',
    sourceTime: 1,
    sourceKey: 'landing/a.csv',
    sequencer: null,
    manifestKey: 'k',
    batchIndex: 0,
    decidedAt: 1,
  };

  it('a send decision keeps the price and availability sent, and they read back as the old side', () => {
    const sent: CatalogItem = { id: 'P1', price: '9.99 USD', availability: 'in stock', title: 'T' };
    const decided = withLastValues(entry, sent);
    expect(decided).to.deep.include({ lastPrice: '9.99 USD', lastAvailability: 'in stock' });
    const facts = changeFacts('P1', { id: 'P1', price: '0.01 USD', availability: 'out of stock' }, decided);
    expect(facts).to.deep.equal({
      id: 'P1',
      isNew: false,
      oldPrice: { amount: 9.99, currency: 'USD' },
      newPrice: { amount: 0.01, currency: 'USD' },
      oldAvailability: 'in stock',
      newAvailability: 'out of stock',
    });
  });

  it('an entry without last values (written before) has unknown old values; no entry is a new product', () => {
    expect(changeFacts('P1', { id: 'P1', price: '1.00 USD' }, entry)).to.include({
      isNew: false,
      oldPrice: null,
    });
    expect(changeFacts('P2', { id: 'P2', price: '1.00 USD' }, undefined)).to.include({ isNew: true });
    expect(parsePrice('9.99 USD')).to.deep.equal({ amount: 9.99, currency: 'USD' });
    expect(parsePrice('$9.99')).to.equal(null);
  });
});
