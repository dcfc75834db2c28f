import type { Manifest } from '../../src/contract/manifest.ts';
import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { FileUnusableError } from '../../src/ingest/types.ts';
import { Harness } from './harness.ts';

/**
 * The bad-input corpus (test/fixtures/bad/, each file with the report `validate --json` must print) through
 * the real worker: every file takes the same verdict there, its report lands in errors/, and the good rows of
 * the mixed files reach the catalog.
 */
const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bad');

interface Expected {
  counts: { total: number; accepted: number; rejected: number };
  rejected: { line: number; id: string | null; reason: string }[];
  problem?: string;
}

interface RowsReport {
  kind: 'rows' | 'file';
  problem?: string;
  rejected: { line: number; id: string | null; reason: string }[];
}

const ingest = {
  currency: 'USD',
  columnMap: {},
  defaultCondition: 'new',
  titleMaxLength: 150,
  descriptionMaxLength: 5000,
};

/** The ids the reader accepts from a file (the reader is checked against the expected reports elsewhere). */
async function acceptedIds(file: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const ev of readProducts(createReadStream(file), ingest))
      if (ev.kind === 'row') out.push(ev.item.id);
  } catch (err) {
    if (!(err instanceof FileUnusableError)) throw err;
    return [];
  }
  return out;
}

describe('worker: the bad-input corpus (moto + simulator)', function () {
  this.timeout(120_000);
  let h: Harness;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') h?.dump();
    await h?.close();
  });

  it('gives every corpus file its documented verdict and syncs the good rows of the mixed ones', async () => {
    // column-map.csv needs its own COLUMN_MAP (covered by the validate tests).
    const names = (await readdir(corpus)).filter((f) => f.endsWith('.csv') && f !== 'column-map.csv').sort();
    expect(names.length).to.be.at.least(25);
    h = await Harness.create('corpus', { DEBOUNCE_QUIET_MS: '1500' });
    h.startWorker();
    const wanted = new Set<string>();
    for (const name of names) {
      for (const id of await acceptedIds(path.join(corpus, name))) wanted.add(id);
      await h.upload(`landing/corpus/${name}`, await readFile(path.join(corpus, name)));
    }

    let manifests: Manifest[] = [];
    await waitFor(
      'a finished manifest for every corpus file',
      async () => {
        manifests = (await h.manifests()).filter((m) => m.state === 'finished');
        const covered = new Set(manifests.flatMap((m) => m.sources.map((s) => s.key)));
        return names.every((n) => covered.has(`landing/corpus/${n}`));
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    for (const name of names) {
      const expected = JSON.parse(
        await readFile(path.join(corpus, name.replace(/\.csv$/, '.expected.json')), 'utf8'),
      ) as Expected;
      const source = manifests.flatMap((m) => m.sources).find((s) => s.key === `landing/corpus/${name}`)!;
      const what = `${name}: manifest source ${JSON.stringify(source)}`;
      if (expected.problem) {
        expect(source.fileError, what).to.be.a('string').and.not.equal('');
        expect(source.rows.valid, what).to.equal(0);
      } else {
        expect(source.fileError ?? null, what).to.equal(null);
        expect(source.rows, what).to.include({
          total: expected.counts.total,
          rejected: expected.counts.rejected,
        });
      }
      if (expected.problem || expected.counts.rejected > 0) {
        expect(source.errorReportKey, what).to.be.a('string');
        const report = await h.json<RowsReport>(source.errorReportKey!);
        if (expected.problem) {
          expect(report.kind, name).to.equal('file');
          expect(report.problem, name).to.equal(expected.problem);
        } else {
          expect(
            report.rejected.map((r) => [r.line, r.id, r.reason]),
            name,
          ).to.deep.equal(expected.rejected.map((r) => [r.line, r.id, r.reason]));
        }
      } else {
        expect(source.errorReportKey ?? null, what).to.equal(null);
      }
    }

    const held = h.products();
    const missing = [...wanted].filter((id) => !held.has(id));
    expect(missing, 'good rows missing from the catalog').to.deep.equal([]);
    await waitFor(
      'the queue to drain (no crash loop, nothing dead-lettered)',
      async () => (await h.depth()) === 0,
    );
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
  });

  it('refuses a 50 MB single line as a file problem without a crash loop, and syncs the next file', async () => {
    h = await Harness.create('corpus50', { DEBOUNCE_QUIET_MS: '800' });
    h.startWorker();
    const header = 'id,title,description,link,image_link,availability,price,brand\n';
    const huge = Buffer.concat([Buffer.from(header), Buffer.alloc(50 * 1024 * 1024, 'x'), Buffer.from('\n')]);
    await h.upload('landing/corpus/huge-line.csv', huge);
    await h.upload('landing/corpus/after.csv', (await readFile(path.join(corpus, 'crlf.csv'))).toString());
    let source: Manifest['sources'][number] | undefined;
    await waitFor(
      'the huge file to be covered by a finished manifest',
      async () => {
        const sources = (await h.manifests()).filter((m) => m.state === 'finished').flatMap((m) => m.sources);
        source = sources.find((s) => s.key === 'landing/corpus/huge-line.csv');
        return Boolean(source) && sources.some((s) => s.key === 'landing/corpus/after.csv');
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(source!.fileError).to.be.a('string');
    const report = await h.json<RowsReport>(source!.errorReportKey!);
    expect(report).to.include({ kind: 'file', problem: 'line-too-long' });
    for (const id of await acceptedIds(path.join(corpus, 'crlf.csv')))
      expect(h.products().has(id), id).to.equal(true);
    await waitFor('the queue to drain', async () => (await h.depth()) === 0);
    expect(await h.depth(h.stack.dlqUrl)).to.equal(0);
  });
});
