import { expect } from 'chai';
import { productVerdict, type ProductEvidence } from '../../src/ops/product-trace.ts';
import { batch, manifest, stateEntry } from './fixtures.ts';

describe('productVerdict', () => {
  const none: ProductEvidence = { rowRejections: [], metaRejections: [], unusableFiles: [] };
  const sentTo = (b: number) =>
    stateEntry('synced/manifests/2026-11-25T17/m.json', b, '2026-11-25T17:06:00Z');

  it('a batch Meta failed as a whole leaves the item unknown; a meta report can name the rejection', () => {
    const m = manifest('2026-11-25T17', 'm', { batches: [batch(0, { status: 'error', errorsTotal: 3 })] });
    expect(productVerdict('SKU', sentTo(0), m, none, 24)).to.deep.include({
      kind: 'batch-error',
      errorsTotal: 3,
    });
    const named: ProductEvidence = {
      ...none,
      metaRejections: [
        {
          manifestId: 'm',
          batchIndex: 0,
          reason: 'gtin invalid',
          sourceKey: 'k',
          line: 2,
          createdAt: 't',
          reportKey: 'r',
        },
      ],
    };
    expect(productVerdict('SKU', sentTo(0), m, named, 24)).to.deep.include({
      kind: 'rejected-by-meta',
      reason: 'gtin invalid',
    });
  });

  it('a batch index the manifest does not have is reported as missing, not as accepted', () => {
    const m = manifest('2026-11-25T17', 'm');
    expect(productVerdict('SKU', sentTo(7), m, none, 24).kind).to.equal('manifest-missing');
  });
});
