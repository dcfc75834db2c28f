import type { Readable } from 'node:stream';
import { readProducts } from './csv-reader.ts';
import { FileUnusableError, type FileProblem, type IngestOptions } from './types.ts';

/**
 * The whole-file verdict `validate` prints: counts, every rejection, and ids that occur on more than one
 * accepted line (not an error: the last occurrence wins, as it would in the worker). Holds every id of the
 * file, which is fine offline; the worker consumes readProducts directly instead.
 */

export interface RejectionEntry {
  line: number;
  id: string | null;
  reason: string;
}

export interface DuplicateId {
  id: string;
  /** Accepted lines carrying the id; the last one is what gets synced. */
  lines: number[];
}

export interface FileCheck {
  counts: { total: number; accepted: number; rejected: number };
  rejected: RejectionEntry[];
  duplicates: DuplicateId[];
  /** Set when the file is unusable as a whole; counts and lists are then empty (nothing of it is used). */
  problem?: FileProblem;
  message?: string;
  line?: number;
}

export async function checkFile(input: Readable, options: IngestOptions): Promise<FileCheck> {
  const rejected: RejectionEntry[] = [];
  const seen = new Map<string, number | number[]>();
  let accepted = 0;
  try {
    for await (const event of readProducts(input, options)) {
      if (event.kind === 'rejected') {
        rejected.push({ line: event.line, id: event.id, reason: event.reason });
        continue;
      }
      accepted++;
      const id = event.item.id;
      const earlier = seen.get(id);
      if (earlier === undefined) seen.set(id, event.line);
      else if (typeof earlier === 'number') seen.set(id, [earlier, event.line]);
      else earlier.push(event.line);
    }
  } catch (err) {
    if (!(err instanceof FileUnusableError)) throw err;
    return {
      counts: { total: 0, accepted: 0, rejected: 0 },
      rejected: [],
      duplicates: [],
      problem: err.problem,
      message: err.message,
      ...(err.line === undefined ? {} : { line: err.line }),
    };
  }
  const duplicates: DuplicateId[] = [];
  for (const [id, lines] of seen) if (typeof lines !== 'number') duplicates.push({ id, lines });
  return {
    counts: { total: accepted + rejected.length, accepted, rejected: rejected.length },
    rejected,
    duplicates,
  };
}
