import type { CatalogItem } from '../meta/types.ts';

/**
 * The contract of the CSV reader (csv-reader.ts): a stream of rows in, accepted items and row
 * rejections out, or a FileUnusableError for a file that cannot be read as the CSV contract at all.
 *
 * A FileUnusableError can come before the first event (gzip, binary, wrong header) or in the middle of
 * the file (invalid UTF-8 or a NUL byte on line 5000, a record that never ends). Either way the WHOLE file
 * is unusable: a consumer must discard the rows it already received from that file and write a
 * file-level report. Any other error (the input stream failed, e.g. an S3 connection reset) is not about
 * the file's content and is worth a retry.
 */

export interface IngestOptions {
  /** ISO 4217 code added to bare prices ("9.99" → "9.99 USD"). */
  currency: string;
  /** Extra CSV column → Meta field. */
  columnMap: Record<string, string>;
  defaultCondition: string;
  titleMaxLength: number;
  descriptionMaxLength: number;
  /**
   * Longest record (characters, quoted newlines included) before the file is refused as
   * `line-too-long`; bounds the memory one record can take. Default DEFAULT_MAX_RECORD_LENGTH.
   */
  maxRecordLength?: number;
  /** Normalised name of a per-row version column (row-version.ts); rows then carry `version`. */
  versionColumn?: string | undefined;
}

/**
 * 256 Ki characters: well above any valid row (a 100,000-character description, the largest
 * DESCRIPTION_MAX_LENGTH allows, plus URLs and extras), and small enough that fast-csv, which rescans an
 * unfinished record character by character on every chunk, spends milliseconds and a few tens of MB on a
 * runaway line (a 50 MB line without breaks, a quote never closed) before it is refused.
 */
export const DEFAULT_MAX_RECORD_LENGTH = 256 * 1024;

/** A row that passed the contract, mapped to Meta's fields. `line` is where the record starts (header = 1). */
export interface AcceptedRow {
  kind: 'row';
  line: number;
  item: CatalogItem;
  /** The row's version column value, when one is configured. */
  version?: number;
}

export interface RejectedRow {
  kind: 'rejected';
  line: number;
  /** The row's id when it had a usable one. */
  id: string | null;
  /** Human-readable, names the field and the rule, e.g. 'price "abc" is not a number'. */
  reason: string;
}

export type IngestEvent = AcceptedRow | RejectedRow;

export type FileProblem =
  | 'empty'
  | 'gzip'
  | 'binary'
  | 'not-utf8'
  | 'not-csv'
  | 'missing-columns'
  | 'duplicate-columns'
  | 'line-too-long';

export class FileUnusableError extends Error {
  override readonly name = 'FileUnusableError';
  readonly problem: FileProblem;
  readonly line: number | undefined;
  constructor(problem: FileProblem, message: string, line?: number) {
    super(message);
    this.problem = problem;
    this.line = line;
  }
}
