import type { TransformCallback } from 'node:stream';
import { CsvParserStream, ParserOptions } from 'fast-csv';
import type { FileProblem } from './types.ts';

/**
 * fast-csv's parser with two additions the reader needs:
 * - A bound on one record. fast-csv keeps the unparsed rest of a record in memory and rescans it on every
 *   chunk, so a 50 MB line (or a quote that is never closed) would cost 50 MB and quadratic time. Past
 *   `maxRecordLength` characters the parser stops and reports `line-too-long`.
 * - Faults travel in band. A parse error is pushed as a ParseFault after the rows parsed before it, instead
 *   of destroying the stream (which drops buffered rows), so the reader knows exactly which record broke.
 * Rows are arrays of raw fields (`headers: false`): the reader checks the header itself.
 */

export class ParseFault {
  readonly problem: FileProblem;
  readonly message: string;
  constructor(problem: FileProblem, message: string) {
    this.problem = problem;
    this.message = message;
  }
}

export type ParsedRecord = string[] | ParseFault;

export class BoundedCsvParser extends CsvParserStream<string[], string[]> {
  readonly #maxRecordLength: number;
  #failed = false;

  constructor(maxRecordLength: number) {
    super(new ParserOptions({ headers: false, objectMode: true, ignoreEmpty: false }));
    this.#maxRecordLength = maxRecordLength;
    // The bound reads fast-csv's private buffer of unparsed text; fail loudly if an upgrade renames it.
    if (Number.isNaN(this.#pendingLength())) {
      throw new Error('fast-csv internals changed: CsvParserStream has no `lines` buffer to bound');
    }
  }

  override _transform(data: Buffer, encoding: string, done: TransformCallback): void {
    if (this.#failed) return done(); // the reader stops at the fault; ignore what is still in flight
    super._transform(data, encoding, (err?: Error | null) => {
      if (err) return this.#locate(data, encoding, done);
      if (this.#pendingLength() > this.#maxRecordLength) {
        return this.#fault(
          new ParseFault(
            'line-too-long',
            `a record is longer than ${this.#maxRecordLength} characters ` +
              '(a line without line breaks, or a quoted field that is never closed)',
          ),
          done,
        );
      }
      done();
    });
  }

  override _flush(done: TransformCallback): void {
    if (this.#failed) return done();
    super._flush((err?: Error | null) => {
      if (err) return this.#fault(parseErrorFault(err), done);
      done();
    });
  }

  /**
   * fast-csv parses a chunk as a whole and throws before pushing any of its rows, leaving its state as it
   * was. To put the fault right after the last good record, feed the chunk again one line at a time: the
   * good records come out, and the line holding the broken one throws again. (The ByteGuard cuts chunks on
   * character boundaries, so re-reading one cannot split a character.)
   */
  #locate(data: Buffer, encoding: string, done: TransformCallback): void {
    const pieces: Buffer[] = [];
    let start = 0;
    for (let lf = data.indexOf(0x0a); lf !== -1; lf = data.indexOf(0x0a, lf + 1)) {
      pieces.push(data.subarray(start, lf + 1));
      start = lf + 1;
    }
    if (start < data.length) pieces.push(data.subarray(start));
    // A trampoline, not recursion: lines inside one quoted field come back synchronously, and a chunk can
    // hold thousands of them.
    const feed = (from: number): void => {
      for (let k = from; k < pieces.length; k++) {
        let sync = true;
        let continueSync = false;
        super._transform(pieces[k]!, encoding, (err?: Error | null) => {
          if (err) return this.#fault(parseErrorFault(err), done);
          if (sync) continueSync = true;
          else feed(k + 1);
        });
        sync = false;
        if (!continueSync) return;
      }
      // Every line parsed on its own; cannot happen with fast-csv 5, but never leave the stream hanging.
      done();
    };
    feed(0);
  }

  #fault(fault: ParseFault, done: TransformCallback): void {
    this.#failed = true;
    this.push(fault);
    done();
  }

  #pendingLength(): number {
    const lines: unknown = (this as unknown as { lines: unknown }).lines;
    return typeof lines === 'string' ? lines.length : NaN;
  }
}

/** fast-csv's messages quote the rest of the record, which can be huge; say what is wrong instead. */
function parseErrorFault(err: Error): ParseFault {
  if (/missing closing/i.test(err.message)) {
    return new ParseFault('not-csv', 'a quoted field is never closed (missing closing ")');
  }
  if (/expected: .* OR new line/i.test(err.message)) {
    return new ParseFault(
      'not-csv',
      'a closing quote is followed by other characters instead of a comma or a line break (e.g. "abc"x)',
    );
  }
  return new ParseFault('not-csv', `the file is not valid CSV: ${err.message.slice(0, 120)}`);
}
