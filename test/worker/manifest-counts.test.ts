import type { FinalBatch, ManifestBatch } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { batchesToResend, computeCounts, resendDepth } from '../../src/worker/manifest.ts';

const base = { payloadKey: 'p', payloadBytes: 1, attempts: 1, submittedAt: null, checkedAt: null };
const final = (
  index: number,
  status: 'finished' | 'error',
  itemCount: number,
  rejected: string[],
  extra: Partial<FinalBatch> = {},
): FinalBatch => ({
  ...base,
  index,
  itemCount,
  status,
  handle: `H${index}`,
  resubmitOf: null,
  finishedAt: '2026-11-30T10:00:00.000Z',
  errorsTotal: rejected.length,
  warningsTotal: 0,
  rejected: rejected.map((id) => ({ id, reason: 'bad' })),
  ...extra,
});

describe('manifest counts: unknown is never delivered', () => {
  it('an error batch leaves its unnamed items unknown and asks for a resend', () => {
    const batches: ManifestBatch[] = [final(0, 'finished', 5, ['A']), final(1, 'error', 4, ['B'])];
    expect(computeCounts(batches, 0)).to.include({
      items: 9,
      accepted: 4,
      rejected: 2,
      superseded: 0,
      unknown: 3,
    });
    expect(batchesToResend({ batches }).map((b) => b.index)).to.deep.equal([1]);
  });

  it('a resend carries what was neither rejected nor superseded; the chain ends known', () => {
    const batches: ManifestBatch[] = [
      final(0, 'error', 10, ['A', 'B']),
      final(1, 'finished', 6, ['C'], {
        resubmitOf: 0,
        superseded: [
          { id: 'D', by: 'm2' },
          { id: 'E', by: 'm2' },
        ],
      }),
    ];
    expect(computeCounts(batches, 0)).to.include({
      items: 10,
      accepted: 5,
      rejected: 3,
      superseded: 2,
      unknown: 0,
    });
    expect(batchesToResend({ batches })).to.deep.equal([]);
    expect(resendDepth(batches, 1)).to.equal(1);
  });

  it('a resend that ended in error again, or was never accepted, is resent again', () => {
    const batches: ManifestBatch[] = [
      final(0, 'error', 3, []),
      final(1, 'error', 3, [], { resubmitOf: 1 - 1 }),
      { ...base, index: 2, itemCount: 3, status: 'unsent', handle: null, resubmitOf: 1 },
    ];
    expect(computeCounts(batches, 0).unknown).to.equal(3);
    expect(batchesToResend({ batches }).map((b) => b.index)).to.deep.equal([2]);
    expect(resendDepth(batches, 2)).to.equal(2);
  });
});
