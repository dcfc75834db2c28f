import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FileUnusableError, type IngestEvent, type IngestOptions } from '../../src/ingest/types.ts';
import { FileTooLargeError, readLandingFile, type IntakeDeps } from '../../src/worker/file-intake.ts';
import { WindowBuffer } from '../../src/worker/window-buffer.ts';

/** The spool file of a landing file: written while it is read, gone when the read leaves no trace. */
describe('file intake: spool files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'intake-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ref = {
    bucket: 'b',
    key: 'landing/a.csv',
    etag: 'e1',
    versionId: null,
    sequencer: null,
    eventTime: Date.UTC(2026, 10, 25, 17, 5),
    size: null,
  };
  const s3 = {
    send: () => Promise.resolve({ Body: Readable.from([]), ETag: '"e1"', LastModified: new Date() }),
  } as unknown as S3Client;
  const row = (id: string, line: number): IngestEvent => ({
    kind: 'row',
    line,
    item: { id, title: `title ${id}`, price: '2.00 USD', availability: 'in stock' },
  });
  const deps = (events: (IngestEvent | Error)[], extra: Partial<IntakeDeps> = {}): IntakeDeps => ({
    s3,
    readRows: async function* () {
      for (const e of events) {
        if (e instanceof Error) throw e;
        yield e;
      }
    },
    ingest: {} as IngestOptions,
    writeReport: () => Promise.resolve('errors/rows/report.json'),
    spoolDir: dir,
    ...extra,
  });

  it('a file read to the end joins a window with its spool; the window reads the items back, then removes it', async () => {
    const got = await readLandingFile(deps([row('1', 2), row('2', 3)]), ref);
    if (got.kind !== 'read') throw new Error(got.kind);
    expect(readdirSync(dir)).to.have.length(1);
    const w = new WindowBuffer(got.window);
    w.addFile(got.file);
    expect(w.items([...w.candidates.values()]).map((i) => i.title)).to.deep.equal(['title 1', 'title 2']);
    w.dispose();
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a read that fails half-way leaves no spool file behind', async () => {
    const failing = deps([row('1', 2), new Error('connection reset')]);
    await readLandingFile(failing, ref).then(
      () => expect.fail('the read should fail'),
      (err: unknown) => expect(String(err)).to.include('connection reset'),
    );
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a file over FILE_MAX_PRODUCTS leaves no spool file behind', async () => {
    const big = deps([row('1', 2), row('2', 3), row('3', 4)], { maxFileProducts: 2 });
    await readLandingFile(big, ref).then(
      () => expect.fail('the file should be refused'),
      (err: unknown) => expect(err).to.be.instanceOf(FileTooLargeError),
    );
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a file-level problem voids the rows: no spool, nothing to join', async () => {
    const unusable = deps([row('1', 2), new FileUnusableError('not-utf8', 'bad bytes', 3)]);
    const got = await readLandingFile(unusable, ref);
    if (got.kind !== 'read') throw new Error(got.kind);
    expect(got.file.spool).to.equal(null);
    expect(got.file.entries.size).to.equal(0);
    expect(got.file.source.fileError).to.match(/^not-utf8/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
