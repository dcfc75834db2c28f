import { expect } from 'chai';
import type { SourceStamp } from '../../src/contract/product-state.ts';
import type { CatalogItem } from '../../src/meta/types.ts';
import { FileRowCollector } from '../../src/plan/row-collector.ts';
import { compareStamps } from '../../src/state/product-state.ts';

/** `plan` stamps rows as the worker does: a row's version column value is part of its stamp. */
describe('plan: rows of a file', () => {
  const fileStamp: SourceStamp = { sourceTime: 1000, sourceKey: 'landing/a.csv', sequencer: 'q', etag: 'e' };
  const item = (id: string, price: string) => ({ id, price }) as CatalogItem;

  it("a row's version lands in its stamp, so a lower version than the state's is older", () => {
    const rows = new FileRowCollector();
    rows.accept(item('P1', '1.00 USD'), 2, 3);
    rows.accept(item('P2', '2.00 USD'), 3);
    const got = rows.candidates(fileStamp);
    expect(got.get('P1')!.stamp).to.deep.equal({ ...fileStamp, version: 3 });
    expect(got.get('P2')!.stamp).to.equal(fileStamp);
    const state = { ...fileStamp, sourceTime: 0, version: 5 };
    expect(compareStamps(got.get('P1')!.stamp, state)).to.be.lessThan(0);
  });

  it('a later line replaces an earlier one unless its version is lower', () => {
    const rows = new FileRowCollector();
    rows.accept(item('P1', '1.00 USD'), 2, 4);
    rows.accept(item('P1', '9.00 USD'), 3, 2);
    expect(rows.rows.get('P1')).to.deep.include({ line: 2, version: 4 });
    expect(rows.counts).to.include({ total: 2, valid: 2, superseded: 1 });
  });
});
