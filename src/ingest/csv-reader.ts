import { pipeline, type Readable } from 'node:stream';
import { ConfigError } from '../config.ts';
import { ByteGuard } from './byte-guard.ts';
import { CONDITION_VALUES } from './condition.ts';
import { BoundedCsvParser, ParseFault, type ParsedRecord } from './csv-parser.ts';
import { normaliseColumnMap, normaliseColumnName, resolveHeader } from './header.ts';
import { parseRowVersion } from './row-version.ts';
import { isCurrencyCode } from './price.ts';
import { createRowMapper, type RowMapper } from './row-mapper.ts';
import {
  DEFAULT_MAX_RECORD_LENGTH,
  FileUnusableError,
  type AcceptedRow,
  type IngestEvent,
  type IngestOptions,
} from './types.ts';

/**
 * Reads one CSV file as a stream: bytes → ByteGuard (gzip, binary, UTF-8, BOM) → fast-csv → header check →
 * one event per record, in file order. Memory is bounded by one record (maxRecordLength) plus stream
 * buffers, whatever the file size; nothing is collected here.
 *
 * - A record's `line` is the 1-based line it starts on (header = 1), counting the line breaks inside
 *   quoted fields of earlier records, so it matches what an editor shows.
 * - Blank lines and records whose cells are all empty are skipped (they still count as lines).
 * - A header-only file yields nothing: a valid "nothing changed".
 * - Duplicate ids are all yielded, in file order; a consumer keeping the last one per id gets the newest
 *   row (an hourly change export may list one product twice).
 * - Throws FileUnusableError before or after some events: the whole file is then unusable, and rows
 *   already yielded must be discarded (see types.ts). Other errors come from the input stream.
 */
export async function* readProducts(input: Readable, options: IngestOptions): AsyncGenerator<IngestEvent> {
  assertIngestOptions(options);
  const columnMap = normaliseColumnMap(options.columnMap);
  const parser = new BoundedCsvParser(options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH);
  const records = pipeline(input, new ByteGuard(), parser, () => {
    // Errors reach the loop below through the parser; destroying on early exit is pipeline's job.
  });
  let line = 1;
  let mapRow: RowMapper | null = null;
  let versionIndex = -1;
  try {
    for await (const record of records as AsyncIterable<ParsedRecord>) {
      if (record instanceof ParseFault) {
        throw new FileUnusableError(record.problem, `line ${line}: ${record.message}`, line);
      }
      const start = line;
      line += 1 + lineBreaksIn(record);
      if (isBlank(record)) continue;
      if (mapRow !== null) {
        const event = mapRow(record, start);
        yield versionIndex < 0 || event.kind !== 'row'
          ? event
          : withVersion(event, record[versionIndex] ?? '', options);
        continue;
      }
      const header = resolveHeader(record, columnMap);
      if (!header.ok) throw new FileUnusableError(header.problem, `line ${start}: ${header.message}`, start);
      mapRow = createRowMapper(header.layout, options);
      if (options.versionColumn) {
        versionIndex = record.findIndex((name) => normaliseColumnName(name) === options.versionColumn);
        if (versionIndex < 0) {
          throw new FileUnusableError(
            'missing-columns',
            `line ${start}: the header lacks the version column ${options.versionColumn} (VERSION_COLUMN)`,
            start,
          );
        }
      }
    }
  } finally {
    // A consumer that stops early (or a throw above) must not leave the input flowing.
    if (!records.destroyed) records.destroy();
  }
  if (mapRow === null)
    throw new FileUnusableError('empty', 'the file has no header row, only blank lines', 1);
}

function withVersion(row: AcceptedRow, raw: string, options: IngestOptions): IngestEvent {
  const version = parseRowVersion(raw);
  if (version === null) {
    return {
      kind: 'rejected',
      line: row.line,
      id: row.item.id,
      reason: `${options.versionColumn} ${JSON.stringify(raw.trim())} is not a number or an ISO 8601 date-time (VERSION_COLUMN orders rows by it)`,
    };
  }
  return { ...row, version };
}

/** Configuration the reader cannot work with; the worker and `validate` check it at start-up. */
export function assertIngestOptions(options: IngestOptions): void {
  const problems: string[] = [];
  if (!isCurrencyCode(options.currency))
    problems.push(`currency "${options.currency}" is not an ISO 4217 code`);
  if (!CONDITION_VALUES.includes(options.defaultCondition)) {
    problems.push(
      `DEFAULT_CONDITION "${options.defaultCondition}" must be one of ${CONDITION_VALUES.join(', ')}`,
    );
  }
  for (const [column, field] of Object.entries(options.columnMap)) {
    if (field.trim() === '') problems.push(`COLUMN_MAP maps "${column}" to an empty field name`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Line breaks inside a record's quoted fields: \r\n, \n and a lone \r each end a line, as in editors. */
function lineBreaksIn(fields: readonly string[]): number {
  let breaks = 0;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) breaks++;
    if (field.indexOf('\r') === -1) continue;
    for (let at = field.indexOf('\r'); at !== -1; at = field.indexOf('\r', at + 1)) {
      if (field.charCodeAt(at + 1) !== 10) breaks++;
    }
  }
  return breaks;
}

function isBlank(fields: readonly string[]): boolean {
  for (let i = 0; i < fields.length; i++) if (fields[i]!.trim() !== '') return false;
  return true;
}
