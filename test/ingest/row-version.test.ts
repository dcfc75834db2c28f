import { expect } from 'chai';
import { parseRowVersion } from '../../src/ingest/row-version.ts';

describe('row version column values', () => {
  it('reads numbers and ISO 8601 dates and date-times (a date-time without a zone is UTC)', () => {
    expect(parseRowVersion('42')).to.equal(42);
    expect(parseRowVersion(' 1.5 ')).to.equal(1.5);
    expect(parseRowVersion('2026-06-01')).to.equal(Date.parse('2026-06-01T00:00:00Z'));
    expect(parseRowVersion('2026-06-01T10:00:00Z')).to.equal(Date.parse('2026-06-01T10:00:00Z'));
    expect(parseRowVersion('2026-06-01 10:00:00')).to.equal(Date.parse('2026-06-01T10:00:00Z'));
    expect(parseRowVersion('2026-06-01T12:00:00+02:00')).to.equal(Date.parse('2026-06-01T10:00:00Z'));
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'yesterday', '1e5x', '2026-13-45', '06/01/2026'])
      expect(parseRowVersion(bad)).to.equal(null);
  });
});
