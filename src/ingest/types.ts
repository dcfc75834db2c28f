import type { CatalogItem } from '../meta/types.ts';

/**
 * The contract of the CSV reader (csv-reader.ts): a stream of rows in, accepted items and row
 * rejections out, or a FileUnusableError for a file that cannot be read as the CSV contract at all.
 */

export interface IngestOptions {
  /** ISO 4217 code added to bare prices ("9.99" → "9.99 USD"). */
  currency: string;
  /** Extra CSV column → Meta field. */
  columnMap: Record<string, string>;
  defaultCondition: string;
  titleMaxLength: number;
  descriptionMaxLength: number;
}

/** A row that passed the contract, mapped to Meta's fields. `line` is where the record starts (header = 1). */
export interface AcceptedRow {
  kind: 'row';
  line: number;
  item: CatalogItem;
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

export interface IngestSummary {
  total: number;
  accepted: number;
  rejected: number;
}
