import { expect } from 'chai';
import { mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isCandidate, startDropFolder, type DropFolder } from '../tools/sandbox/drop-folder.ts';

describe('sandbox drop folder', () => {
  let dir: string;
  let drop: DropFolder | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cs-drop-'));
  });
  afterEach(async () => {
    await drop?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a file only once its size has stopped changing, exactly once, then moves it to uploaded/', async () => {
    const uploads: string[] = [];
    const lines: string[] = [];
    // No timer in the way: a long poll interval, and the test drives each look with scan().
    drop = await startDropFolder({
      dir,
      stableMs: 0,
      pollMs: 3_600_000,
      upload: async (_file, name) => {
        uploads.push(name);
        return `uploaded ${name}`;
      },
      onLine: (l) => lines.push(l),
    });
    const file = path.join(dir, 'big.csv');
    await writeFile(file, 'id,title\n');
    await drop.scan(); // first sight: remembered, not uploaded
    await appendFile(file, '1,a\n');
    await drop.scan(); // grew since: still being written
    expect(uploads).to.deep.equal([]);
    await drop.scan(); // unchanged since the last look: complete
    expect(uploads).to.have.length(1);
    expect(lines).to.deep.equal(['uploaded big.csv']);
    await drop.scan();
    expect(uploads).to.have.length(1);
    expect(await readdir(dir)).to.deep.equal(['uploaded']);
    expect((await readdir(path.join(dir, 'uploaded')))[0]).to.match(/^\d{4}-\d\d-\d\dT.*-big\.csv$/);
  });

  it('ignores hidden and partial files; a failed upload is reported once and tried again', async () => {
    let fail = true;
    const lines: string[] = [];
    const uploaded: string[] = [];
    drop = await startDropFolder({
      dir,
      stableMs: 0,
      pollMs: 3_600_000,
      upload: async (_file, name) => {
        if (fail) throw new Error('bucket not reachable');
        uploaded.push(name);
        return `uploaded ${name}`;
      },
      onLine: (l) => lines.push(l),
    });
    for (const name of ['.hidden.csv', 'x.csv.part', 'y.csv.crdownload', 'z.csv~', 'ok.csv'])
      await writeFile(path.join(dir, name), 'id\n');
    for (let i = 0; i < 3; i++) await drop.scan();
    expect(lines).to.deep.equal(['drop folder: could not upload ok.csv: bucket not reachable (will retry)']);
    fail = false;
    await drop.scan();
    expect(uploaded).to.deep.equal(['ok.csv']);
    expect((await readdir(dir)).sort()).to.deep.equal([
      '.hidden.csv',
      'uploaded',
      'x.csv.part',
      'y.csv.crdownload',
      'z.csv~',
    ]);
    expect(['a.csv', 'notes.txt'].map(isCandidate)).to.deep.equal([true, true]);
  });
});
