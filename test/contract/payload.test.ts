import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readBatchPayload, type Manifest } from '../../src/contract/manifest.ts';
import { stampOf } from '../../src/worker/resend.ts';

/**
 * Batch payloads written before the origins named their fields still resend with the stamp they were sent
 * with: a held window released, or a batch of unknown fate, after an upgrade.
 */
describe('contract: batch payloads', () => {
  const noSources = { sources: [] } as unknown as Manifest;

  it('an old drift-repair payload reads into named origin fields, and resends with its exact stamps', async () => {
    const stored: unknown = JSON.parse(
      await readFile(
        path.join(import.meta.dirname, '..', 'fixtures', 'legacy', 'payload-drift-repair.json'),
        'utf8',
      ),
    );
    const payload = readBatchPayload(stored, 'fixture');
    expect(payload.origins).to.deep.equal([
      {
        id: 'P1',
        key: 'landing/a.csv',
        line: 0,
        sourceTime: 1764259200123,
        sequencer: '0055AED6DCD90281E5',
        etag: 'etag-a',
        version: 7,
      },
      { id: 'P2', key: 'landing/b.csv', line: 0, sourceTime: 1764259201000, sequencer: null, etag: null },
    ]);
    expect(stampOf(noSources, payload.origins[0]!)).to.deep.equal({
      sourceTime: 1764259200123,
      sourceKey: 'landing/a.csv',
      sequencer: '0055AED6DCD90281E5',
      etag: 'etag-a',
      version: 7,
    });
    expect(payload.requests).to.have.length(2);
  });

  it("a payload in today's form reads unchanged", () => {
    const today = {
      manifestId: 'm',
      batchIndex: 1,
      requests: [{ method: 'UPDATE', data: { id: 'P1' } }],
      origins: [{ id: 'P1', key: 'landing/a.csv', line: 3, version: 2 }],
    };
    expect(readBatchPayload(today, 'today')).to.deep.equal(today);
  });

  it('something that is not a payload is refused with where it was read', () => {
    expect(() => readBatchPayload({ manifestId: 'm' }, 'synced/batches/m/0.json')).to.throw(
      /synced\/batches\/m\/0\.json/,
    );
  });
});
