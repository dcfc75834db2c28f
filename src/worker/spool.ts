import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The mapped items of one landing file, on local disk instead of in memory: an append-only file of JSON
 * lines (SPOOL_DIR), written while the file is read and read back a batch at a time when the window is
 * flushed. The window keeps only where each item is (offset, length). The file is removed when the read
 * fails, when its window's flush is done with it, and at start-up if a previous process left it behind.
 *
 * Sync file calls on purpose: writes go out in blocks of WRITE_BLOCK bytes and reads are one batch of
 * nearby ranges, each a few milliseconds at most, cheaper than a round trip through the thread pool per
 * item.
 */

/** Where one item's JSON is in its spool file. */
export interface SpoolRef {
  at: number;
  len: number;
}

export class SpoolError extends Error {
  override readonly name = 'SpoolError';
}

const WRITE_BLOCK = 1 << 20;
/** Ranges closer than this are read with one call (the gap is read and dropped). */
const READ_GAP = 64 * 1024;
const SUFFIX = '.spool';
/** Tells this process's spool files from those of an earlier process that had the same pid. */
const PROCESS_TAG = randomBytes(4).toString('hex');

export class Spool {
  readonly path: string;
  #fd: number | null;
  /**
   * Appended JSON not yet written, as UTF-8: encoding each item as it comes lets its string die young,
   * where a list of pending strings kept a megabyte of them alive into the old generation. Only while
   * the file is being read: `finish` writes it out and lets it go, so a window of many small files does
   * not keep a block for each.
   */
  #block: Buffer | null = null;
  #pendingBytes = 0;
  #size = 0;
  #removed = false;

  private constructor(file: string, fd: number) {
    this.path = file;
    this.#fd = fd;
  }

  /** A new, empty spool file in `dir` (created if missing). */
  static create(dir: string): Spool {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${process.pid}-${PROCESS_TAG}-${randomBytes(6).toString('hex')}${SUFFIX}`);
    return new Spool(file, openSync(file, 'wx+'));
  }

  /** Bytes written so far (what the index points into). */
  get size(): number {
    return this.#size;
  }

  /** Appends one item's JSON; returns where it is. */
  append(json: string): SpoolRef {
    const len = Buffer.byteLength(json);
    const ref = { at: this.#size, len };
    this.#open();
    const block = (this.#block ??= Buffer.allocUnsafe(WRITE_BLOCK));
    if (this.#pendingBytes + len > block.length) this.#writePending();
    if (len > block.length) this.#writeAll(Buffer.from(json, 'utf8'));
    else this.#pendingBytes += block.write(json, this.#pendingBytes, len, 'utf8');
    this.#size += len;
    return ref;
  }

  /** Writes out what is pending and frees the write block: the file is read (appending again is allowed). */
  finish(): void {
    this.#writePending();
    this.#block = null;
  }

  /**
   * The items' JSON as appended, in the order asked: what a payload is spliced from without parsing
   * each item and serialising it again.
   */
  readJson(refs: readonly SpoolRef[]): string[] {
    this.finish();
    const fd = this.#open();
    const order = refs.map((_, i) => i).sort((x, y) => refs[x]!.at - refs[y]!.at);
    const out = new Array<string>(refs.length);
    for (let i = 0; i < order.length;) {
      // One read for a run of ranges with small gaps between them.
      const start = refs[order[i]!]!.at;
      let end = start + refs[order[i]!]!.len;
      let j = i + 1;
      while (j < order.length && refs[order[j]!]!.at - end <= READ_GAP) {
        end = Math.max(end, refs[order[j]!]!.at + refs[order[j]!]!.len);
        j++;
      }
      const buf = Buffer.allocUnsafe(end - start);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) throw new SpoolError(`${this.path}: ends at ${start + got}, expected ${end} bytes`);
        got += n;
      }
      for (; i < j; i++) {
        const r = refs[order[i]!]!;
        out[order[i]!] = buf.toString('utf8', r.at - start, r.at - start + r.len);
      }
    }
    return out;
  }

  /** Deletes the file; later reads fail. Safe to call more than once. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#block = null;
    this.#pendingBytes = 0;
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  get removed(): boolean {
    return this.#removed;
  }

  #open(): number {
    if (this.#fd === null) throw new SpoolError(`${this.path} was removed; its window was already flushed`);
    return this.#fd;
  }

  #writePending(): void {
    if (this.#pendingBytes === 0) return;
    const pending = this.#block!.subarray(0, this.#pendingBytes);
    this.#pendingBytes = 0;
    this.#writeAll(pending);
  }

  #writeAll(bytes: Buffer): void {
    const fd = this.#open();
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the spool files a previous process left in `dir` (it was killed before its windows were
 * flushed; their messages come back and are read again). Files of a live process are left alone,
 * unless it is this pid reused by an earlier process (a restarted container is pid 1 again).
 */
export function removeStaleSpools(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^(\d+)-([0-9a-f]{8})-[0-9a-f]+\.spool$/.exec(name);
    if (!m || m[2] === PROCESS_TAG) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
