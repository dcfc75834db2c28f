import { manifestKey } from '../../src/contract/layout.ts';
import type { Manifest, RunningBatch } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { manifestErrors } from '../../src/worker/json-schemas.ts';
import { computeCounts, finalizeBatch, newManifestId } from '../../src/worker/manifest.ts';

const running = (index: number, itemCount: number, resubmitOf: number | null = null): RunningBatch => ({
  index,
  itemCount,
  payloadKey: `synced/batches/m/${index}.json`,
  payloadBytes: 100,
  handle: `h${index}`,
  status: 'running',
  attempts: 1,
  resubmitOf,
  submittedAt: '2026-11-25T17:00:00.000Z',
  checkedAt: null,
});
const final = (kind: 'finished' | 'error', invalidIds: string[]) => ({
  kind,
  handle: 'h',
  raw: kind,
  errorsTotal: invalidIds.length,
  warningsTotal: 0,
  errors: invalidIds.slice(0, 1).map((id) => ({ id, message: `bad ${id}` })),
  warnings: [],
  invalidIds,
});

describe('manifest', () => {
  it('records every rejected id, with Meta sample reasons where given', () => {
    const b = finalizeBatch(running(0, 3), final('finished', ['a', 'b']), '2026-11-25T17:01:00.000Z');
    expect(b.rejected).to.deep.equal([
      { id: 'a', reason: 'bad a' },
      { id: 'b', reason: b.rejected[1]!.reason },
    ]);
    expect(b.rejected[1]!.reason).to.match(/did not include this id/);
  });

  it('counts accepted, rejected and unknown; a resubmitted error batch counts through its resubmission', () => {
    const at = '2026-11-25T17:01:00.000Z';
    const batches = [
      finalizeBatch(running(0, 10), final('finished', ['x']), at),
      finalizeBatch(running(1, 5), final('error', []), at),
      running(2, 5, 1),
    ];
    expect(computeCounts(batches, 4)).to.deep.equal({
      items: 15,
      accepted: 9,
      rejected: 1,
      superseded: 0,
      unknown: 5,
      rowsRejected: 4,
    });
    batches[2] = finalizeBatch(running(2, 5, 1), final('finished', []), at);
    expect(computeCounts(batches, 4)).to.include({ accepted: 14, unknown: 0 });
  });

  it('builds manifests that match manifest.schema.json', () => {
    const window = '2026-11-25T17:00:00Z';
    const id = newManifestId(window, Date.parse('2026-11-25T17:05:00Z'));
    const m: Manifest = {
      schemaVersion: 1,
      manifestId: id,
      window,
      state: 'submitted',
      createdAt: '2026-11-25T17:05:00.000Z',
      updatedAt: '2026-11-25T17:05:00.000Z',
      submittedAt: '2026-11-25T17:05:01.000Z',
      finishedAt: null,
      catalogId: '123',
      sources: [
        {
          bucket: 'b',
          key: 'landing/a b.csv',
          etag: 'e',
          versionId: null,
          sequencer: null,
          eventTime: '2026-11-25T17:04:00.000Z',
          size: 10,
          fileError: null,
          errorReportKey: null,
          rows: { total: 1, valid: 1, rejected: 0, unchanged: 0, older: 0, superseded: 0 },
        },
      ],
      batches: [running(0, 1)],
      counts: { items: 1, accepted: 0, rejected: 0, unknown: 1, rowsRejected: 0, calls: 1 },
      errorReportKeys: [],
    };
    expect(manifestErrors(m)).to.equal(null);
    expect(manifestKey('synced/', window, id)).to.equal(`synced/manifests/2026-11-25T17/${id}.json`);
    expect(manifestErrors({ ...m, state: 'done' })).to.match(/state/);
  });
});
