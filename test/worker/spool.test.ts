import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleSpools, Spool, type SpoolRef } from '../../src/worker/spool.ts';

const idsAt = (spool: Spool, refs: SpoolRef[]): string[] =>
  spool.readJson(refs).map((json) => (JSON.parse(json) as { id: string }).id);

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
    expect(
      idsAt(
        spool,
        asked.map((i) => refs[i]!),
      ),
    ).to.deep.equal(asked.map((i) => `P${i}`));
    spool.remove();
  });

  it('keeps items whole that are larger than a write block or end on its edge, and appends after a read', () => {
    // Failure it guards: an item's UTF-8 bytes cut at a block boundary, or a length that counts UTF-16
    // units instead of bytes, would read back a broken item at flush time.
    const spool = Spool.create(dir);
    const big = JSON.stringify({ id: 'BIG', description: '漢'.repeat(400_000) }); // ~1.2 MB of UTF-8
    const items: string[] = [];
    let filled = 0;
    // Multi-byte items until the next one no longer fits the 1 MiB block, then the big one.
    while (filled < (1 << 20) - 200) {
      const json = JSON.stringify({ id: `E${items.length}`, title: 'é🛒'.repeat(items.length % 50) });
      items.push(json);
      filled += Buffer.byteLength(json);
    }
    items.push(big, JSON.stringify({ id: 'after' }));
    const refs = items.map((json) => spool.append(json));
    expect(spool.readJson(refs)).to.deep.equal(items);
    const later = spool.append(JSON.stringify({ id: 'after-read', title: 'ü' }));
    expect(idsAt(spool, [later, refs.at(-2)!])).to.deep.equal(['after-read', 'BIG']);
    spool.finish();
    expect(spool.size).to.equal(items.reduce((n, j) => n + Buffer.byteLength(j), 0) + later.len);
    spool.remove();
  });

  it('removes its file, once, and refuses reads afterwards', () => {
    const spool = Spool.create(dir);
    const ref = spool.append('{"id":"1"}');
    spool.remove();
    spool.remove();
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(() => spool.readJson([ref])).to.throw(/removed/);
    expect(() => spool.append('{"id":"2"}')).to.throw(/removed/);
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
