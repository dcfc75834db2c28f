import { expect } from 'chai';
import { rowReportKey } from '../../src/contract/layout.ts';
import { buildFileReport, buildRowsReport } from '../../src/ingest/error-report.ts';

const source = {
  bucket: 'landing-bucket',
  key: 'landing/2026/09/12/products 1.csv',
  etag: '"9b2cf535f27731c974343645a3985328"',
};
const createdAt = new Date('2026-09-12T14:35:07.123Z');

describe('ingest error reports', () => {
  it('files a report under errors/rows/<hour>/ with the landing key flattened and the bare etag', () => {
    expect(rowReportKey('errors/', source.key, source.etag, createdAt)).to.equal(
      'errors/rows/2026-09-12T14/landing__2026__09__12__products 1.csv.9b2cf535f27731c974343645a3985328.json',
    );
    expect(rowReportKey('err', 'a/b.csv', 'abc-2', createdAt)).to.equal(
      'err/rows/2026-09-12T14/a__b.csv.abc-2.json',
    );
  });

  it('builds a rows report: counts, every rejection with line, id and reason', () => {
    const report = buildRowsReport({
      source,
      createdAt,
      total: 100,
      rejected: [
        { line: 3, id: 'SKU-2', reason: 'price "-1" is negative' },
        { line: 9, id: null, reason: 'id is empty (required)' },
      ],
    });
    expect(report).to.deep.equal({
      schemaVersion: 1,
      kind: 'rows',
      source: { bucket: 'landing-bucket', key: source.key, etag: '9b2cf535f27731c974343645a3985328' },
      createdAt: '2026-09-12T14:35:07.123Z',
      counts: { total: 100, rejected: 2 },
      rejected: [
        { line: 3, id: 'SKU-2', reason: 'price "-1" is negative' },
        { line: 9, id: null, reason: 'id is empty (required)' },
      ],
    });
  });

  it('counts rejections a capped list left out', () => {
    const report = buildRowsReport({
      source,
      createdAt,
      total: 10,
      rejected: [{ line: 2, id: 'a', reason: 'r' }],
      omitted: 4,
    });
    expect(report.counts).to.deep.equal({ total: 10, rejected: 5 });
    expect(report.omitted).to.equal(4);
  });

  it('builds a file report with the problem, the line when known, and nothing counted as used', () => {
    expect(
      buildFileReport({ source, createdAt, problem: 'not-utf8', message: 'bad byte on line 7', line: 7 }),
    ).to.deep.equal({
      schemaVersion: 1,
      kind: 'file',
      source: { bucket: 'landing-bucket', key: source.key, etag: '9b2cf535f27731c974343645a3985328' },
      createdAt: '2026-09-12T14:35:07.123Z',
      problem: 'not-utf8',
      message: 'bad byte on line 7',
      line: 7,
      counts: { total: 0, rejected: 0 },
      rejected: [],
    });
    expect(buildFileReport({ source, createdAt, problem: 'gzip', message: 'gzip' })).not.to.have.property(
      'line',
    );
  });
});
