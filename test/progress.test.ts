import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/local-aws/moto-server.ts';
import { text } from 'node:stream/consumers';
import { countProgress } from '../src/commands/validate.ts';
import { redriveProgressSink } from '../src/ops/redrive-progress.ts';
import type { DlqEntry } from '../src/ops/dlq-message.ts';
import {
  createProgress,
  formatBytes,
  formatDuration,
  formatProgress,
  type ProgressStream,
} from '../src/progress.ts';

/** A terminal as far as the progress line can tell: isTTY, a width, and everything written kept. */
function fakeTty(isTTY = true): ProgressStream & { out: string; screen(): string } {
  const s = {
    isTTY,
    columns: 100,
    out: '',
    write(chunk: string) {
      s.out += chunk;
      return true;
    },
    /** What a terminal shows: each \r\x1b[K clears the current line. */
    screen() {
      const CLEAR = '\r\x1b[K';
      const lines: string[] = [''];
      for (const [i, piece] of s.out.split(CLEAR).entries()) {
        if (i > 0) lines[lines.length - 1] = '';
        const parts = piece.split('\n');
        lines[lines.length - 1] = `${lines[lines.length - 1] ?? ''}${parts[0] ?? ''}`;
        lines.push(...parts.slice(1));
      }
      return lines.join('\n');
    },
  };
  return s;
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('progress line', () => {
  it('formats counts, percentage, rate, ETA and elapsed time', () => {
    expect(
      formatProgress({
        label: 'validate big.csv',
        unit: 'rows',
        done: 1200,
        total: 5000,
        elapsedMs: 3000,
        rate: 400,
      }),
    ).to.equal('validate big.csv: 1,200 of 5,000 rows (24%), 400 rows/s, ETA 10 s, 3 s elapsed');
    expect(
      formatProgress({
        label: 'validate big.csv',
        unit: 'bytes',
        done: 2_500_000,
        total: 10_000_000,
        elapsedMs: 5000,
        rate: 500_000,
        status: '20,000 lines',
      }),
    ).to.equal('validate big.csv [20,000 lines]: 2.5 MB of 10 MB (25%), 500 kB/s, ETA 15 s, 5 s elapsed');
    expect(
      formatProgress({ label: 'redrive', unit: 'messages', done: 3, total: null, elapsedMs: 0, rate: null }),
    ).to.equal('redrive: 3 messages, 0 s elapsed');
    expect(formatDuration(185_000)).to.equal('3 min 05 s');
    expect(formatDuration(7_620_000)).to.equal('2 h 07 min');
    expect(formatBytes(999)).to.equal('999 B');
    expect(formatBytes(1_234_567)).to.equal('1.2 MB');
  });

  it('on a TTY: redraws one line in place with rate and ETA, keeps notes, clears at the end', () => {
    const tty = fakeTty();
    const c = clock();
    const p = createProgress({ label: 'redrive', unit: 'messages', total: 100, stream: tty, now: c.now });
    expect(p.active).to.be.true;
    for (let i = 1; i <= 10; i++) {
      c.t += 200; // 5 messages a second
      p.update(i);
    }
    expect(tty.out).to.include('\r\x1b[K');
    expect(tty.screen()).to.equal('redrive: 10 of 100 messages (10%), 5.0 messages/s, ETA 18 s, 2 s elapsed');
    p.note('redrive: NOT MOVED s3-event landing/a.csv');
    expect(tty.screen().split('\n')).to.deep.equal([
      'redrive: NOT MOVED s3-event landing/a.csv',
      'redrive: 10 of 100 messages (10%), 5.0 messages/s, ETA 18 s, 2 s elapsed',
    ]);
    p.finish();
    expect(tty.screen()).to.equal('redrive: NOT MOVED s3-event landing/a.csv\n');
  });

  it('redraws at most every minRedrawMs, and never wider than the terminal', () => {
    const tty = fakeTty();
    tty.columns = 40;
    const c = clock();
    const p = createProgress({
      label: 'a very long label for a narrow terminal',
      unit: 'rows',
      stream: tty,
      now: c.now,
    });
    for (let i = 1; i <= 50; i++) {
      c.t += 10;
      p.update(i);
    }
    const draws = tty.out.split('\r\x1b[K').length - 1;
    expect(draws).to.be.within(4, 6); // 500 ms of updates, one draw per 100 ms
    for (const line of tty.screen().split('\n')) expect(line.length).to.be.at.most(39);
  });

  it('writes nothing at all when the stream is not a TTY, or when switched off (--json)', () => {
    for (const [stream, enabled] of [
      [fakeTty(false), undefined],
      [fakeTty(true), false],
    ] as const) {
      const p = createProgress({ label: 'x', unit: 'rows', stream, enabled });
      p.update(5);
      p.note('a note');
      p.finish();
      expect(p.active).to.be.false;
      expect(stream.out).to.equal('');
    }
  });

  it('validate: counts bytes and lines of the stream it passes on unchanged', async () => {
    const tty = fakeTty();
    const c = clock();
    const p = createProgress({
      label: 'validate f.csv',
      unit: 'bytes',
      total: 24,
      stream: tty,
      now: c.now,
      minRedrawMs: 0,
    });
    const input = Readable.from([Buffer.from('id,title\n1,a\n'), Buffer.from('2,b\n3,c\n')]);
    const out = await text(countProgress(input, p));
    expect(out).to.equal('id,title\n1,a\n2,b\n3,c\n');
    expect(tty.screen()).to.match(/^validate f\.csv \[4 lines\]: 21 B of 24 B \(87%\)/);
  });

  it('redrive: on a TTY, moves count on the live line and problems stay; elsewhere, one plain line per event', () => {
    const entry = {
      messageId: 'm1',
      keys: ['landing/a.csv'],
      payload: { kind: 's3-event' },
    } as unknown as DlqEntry;
    const tty = fakeTty();
    const c = clock();
    const p = createProgress({
      label: 'redrive',
      unit: 'messages',
      total: 3,
      stream: tty,
      now: c.now,
      minRedrawMs: 0,
    });
    const logged: string[] = [];
    const sink = redriveProgressSink(p, (l) => logged.push(l));
    sink({ kind: 'strategy', strategy: 'loop', why: '--match needs the receive/send/delete loop' });
    c.t += 1000;
    sink({ kind: 'moved', entry });
    c.t += 1000;
    sink({ kind: 'moved', entry });
    sink({ kind: 'problem', problem: { kind: 'not-moved', entry, error: 'AccessDenied' } });
    expect(logged).to.deep.equal([]);
    const screen = tty.screen().split('\n');
    expect(screen[0]).to.equal('redrive: --match needs the receive/send/delete loop');
    expect(screen[1]).to.match(/^redrive: NOT MOVED s3-event landing\/a\.csv \(message m1\): AccessDenied/);
    expect(screen[2]).to.equal('redrive: 2 of 3 messages (66%), 1.0 messages/s, ETA 1 s, 2 s elapsed');

    const plain = fakeTty(false);
    const lines: string[] = [];
    const quiet = redriveProgressSink(
      createProgress({ label: 'redrive', unit: 'messages', stream: plain }),
      (l) => lines.push(l),
    );
    quiet({ kind: 'moved', entry });
    expect(lines).to.deep.equal(['redrive: moved s3-event landing/a.csv']);
    expect(plain.out).to.equal('');
  });

  describe('in the commands (a real pseudo-terminal through script(1))', function () {
    this.timeout(60_000);
    let dir: string;
    let file: string;
    const cli = path.join(repoRoot, 'bin', 'catalog-sync');
    const run = promisify(execFile);
    /** Runs the CLI with stdout and stderr on a pseudo-terminal; returns what the terminal received. */
    const onTerminal = async (args: string[]) => {
      const cmd = [cli, ...args].map((a) => `'${a}'`).join(' ');
      const { stdout } = await run('script', ['-qec', `${cmd} || true`, '/dev/null'], {
        env: { ...process.env, CATALOG_CURRENCY: 'USD' },
      });
      return stdout;
    };
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'cs-progress-'));
      file = path.join(dir, 'big.csv');
      const rows = Array.from(
        { length: 20_000 },
        (_, i) =>
          `P-${i},Product ${i},A product,https://shop.example.com/p/${i},https://shop.example.com/i/${i}.jpg,in stock,9.99,Acme`,
      );
      await writeFile(
        file,
        `id,title,description,link,image_link,availability,price,brand\n${rows.join('\n')}\n`,
      );
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('validate draws a live line on a terminal, and nothing but the result with --json or in a pipe', async () => {
      const tty = await onTerminal(['validate', file]);
      expect(tty).to.include('\r\x1b[K');
      expect(tty).to.match(/validate \S+big\.csv \[[\d,]+ lines\]: [\d.]+ [kM]?B of [\d.]+ MB/);
      expect(tty).to.include('OK, 20000 records, all valid');

      const json = await onTerminal(['validate', file, '--json']);
      expect(json).not.to.include('\x1b[K');
      expect(JSON.parse(json.slice(json.indexOf('{'))).counts.total).to.equal(20_000);

      const piped = await run(cli, ['validate', file], { env: { ...process.env, CATALOG_CURRENCY: 'USD' } });
      expect(piped.stderr).to.equal('');
      expect(piped.stdout).to.equal(`${file}: OK, 20000 records, all valid\n`);
    });
  });
});
