import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { FileUnusableError } from './types.ts';

/**
 * The byte-level gate in front of the CSV parser. It passes bytes through unchanged (minus a UTF-8 BOM)
 * and refuses, as a FileUnusableError, what no CSV parser should see: gzip or ZIP (xlsx) archives, NUL
 * bytes (binary data), anything that is not valid UTF-8, an empty file. Checking bytes natively here is
 * much cheaper than decoding twice, and fast-csv's own decoder would silently turn bad bytes into U+FFFD.
 */

/**
 * Chunks handed to the parser are at most this long (and end on a character boundary), so one huge input
 * chunk cannot make it rescan a lot.
 */
const SLICE_BYTES = 64 * 1024;
const LF = 0x0a;

export class ByteGuard extends Transform {
  #head: Buffer | null = Buffer.alloc(0);
  /** 0-3 bytes of a UTF-8 sequence split across chunks, prepended to the next chunk. */
  #carry: Buffer | null = null;
  #bytes = 0;
  /** Line feeds passed so far: only to name the line of a problem. */
  #newlines = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let data = chunk;
      if (this.#head !== null) {
        // Magic numbers need the first 4 bytes, and a stream may deliver them one at a time.
        const head = Buffer.concat([this.#head, chunk]);
        if (head.length < 4) {
          this.#head = head;
          return done();
        }
        this.#head = null;
        data = stripBom(head, checkMagic(head));
      }
      this.#pass(data);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.#head !== null) {
        const head = this.#head;
        this.#head = null;
        this.#pass(stripBom(head, checkMagic(head)));
      }
      if (this.#carry !== null) {
        throw new FileUnusableError(
          'not-utf8',
          `the file is not valid UTF-8: it ends in the middle of a multi-byte character (line ${this.#newlines + 1})`,
          this.#newlines + 1,
        );
      }
      if (this.#bytes === 0)
        throw new FileUnusableError('empty', 'the file is empty: no header row, no data');
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  #pass(input: Buffer): void {
    let data = input;
    if (this.#carry !== null) {
      data = Buffer.concat([this.#carry, data]);
      this.#carry = null;
    }
    if (data.length === 0) return;
    const nul = data.indexOf(0);
    if (nul !== -1) {
      const line = this.#lineAt(data, nul);
      throw new FileUnusableError(
        'binary',
        `the file holds binary data (a NUL byte on line ${line}), not CSV text`,
        line,
      );
    }
    const complete = data.length - incompleteTail(data);
    const body = complete === data.length ? data : data.subarray(0, complete);
    if (!isUtf8(body)) {
      const line = this.#lineAt(body, firstInvalidUtf8(body));
      throw new FileUnusableError(
        'not-utf8',
        `the file is not valid UTF-8 (first bad byte on line ${line}); it may be Latin-1 or Windows-1252: ` +
          're-export it as UTF-8',
        line,
      );
    }
    if (complete < data.length) this.#carry = Buffer.from(data.subarray(complete));
    this.#bytes += body.length;
    for (let i = body.indexOf(LF); i !== -1; i = body.indexOf(LF, i + 1)) this.#newlines++;
    if (body.length <= SLICE_BYTES) {
      this.push(body);
      return;
    }
    // Cut on character boundaries: every chunk the parser sees is whole UTF-8, which it relies on to
    // re-read a chunk when it has to locate a parse error.
    for (let start = 0; start < body.length;) {
      let end = Math.min(start + SLICE_BYTES, body.length);
      while (end < body.length && (body[end]! & 0xc0) === 0x80) end--;
      this.push(body.subarray(start, end));
      start = end;
    }
  }

  /** 1-based line of byte `offset` of `data`, which follows everything passed so far. */
  #lineAt(data: Buffer, offset: number): number {
    let line = this.#newlines + 1;
    for (let i = data.indexOf(LF); i !== -1 && i < offset; i = data.indexOf(LF, i + 1)) line++;
    return line;
  }
}

/** Refuses the formats people most often upload by mistake under a .csv name; returns the BOM length. */
function checkMagic(head: Buffer): number {
  if (head[0] === 0x1f && head[1] === 0x8b) {
    throw new FileUnusableError('gzip', 'the file is gzip-compressed; upload the uncompressed CSV');
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    throw new FileUnusableError(
      'binary',
      'the file is a ZIP archive (an .xlsx workbook?), not CSV text; export it as CSV (UTF-8)',
    );
  }
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new FileUnusableError(
      'not-utf8',
      'the file is UTF-16 (it starts with a UTF-16 BOM); re-export it as UTF-8',
    );
  }
  return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
}

function stripBom(head: Buffer, bomLength: number): Buffer {
  return bomLength === 0 ? head : head.subarray(bomLength);
}

/** Bytes at the end of `data` that start a UTF-8 sequence the chunk does not finish (0-3). */
export function incompleteTail(data: Buffer): number {
  const end = data.length;
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  for (let back = 1; back <= Math.min(4, end); back++) {
    const byte = data[end - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that breaks UTF-8 (only called once isUtf8 said there is one). */
export function firstInvalidUtf8(data: Buffer): number {
  let i = 0;
  while (i < data.length) {
    const b = data[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + need >= data.length) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = data[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return data.length;
}
