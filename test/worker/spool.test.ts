import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleSpools, Spool } from '../../src/worker/spool.ts';

describe('spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back the items asked for, in the order asked, across write blocks', () => {
    const spool = Spool.create(dir);
    const refs = Array.from({ length: 3000 }, (_, i) =>
      spool.append(JSON.stringify({ id: `P${i}`, title: `é ${'x'.repeat(i % 700)}` })),
    );
    expect(spool.size).to.be.greaterThan(1 << 20);
    const asked = [2999, 0, 1500, 7, 2998];
    expect(spool.read(asked.map((i) => refs[i]!)).map((it) => it.id)).to.deep.equal(
      asked.map((i) => `P${i}`),
    );
    spool.remove();
  });

  it('removes its file, once, and refuses reads afterwards', () => {
    const spool = Spool.create(dir);
    const ref = spool.append('{"id":"1"}');
    spool.remove();
    spool.remove();
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(() => spool.read([ref])).to.throw(/removed/);
  });

  it('at start-up removes the spool files of dead processes, not those of this process', () => {
    const mine = Spool.create(dir);
    // pid 2^22 + 1 is above Linux's pid_max: no such process.
    const stale = `${2 ** 22 + 1}-0badc0de-0123456789ab.spool`;
    writeFileSync(path.join(dir, stale), '{}');
    writeFileSync(path.join(dir, 'unrelated.txt'), '');
    expect(removeStaleSpools(dir)).to.deep.equal([stale]);
    expect(readdirSync(dir).sort()).to.deep.equal([path.basename(mine.path), 'unrelated.txt'].sort());
    mine.remove();
    expect(removeStaleSpools(path.join(dir, 'missing'))).to.deep.equal([]);
  });
});
