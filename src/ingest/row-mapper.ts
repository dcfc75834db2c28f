import type { CatalogItem } from '../meta/types.ts';
import { normaliseAvailability } from './availability.ts';
import { normaliseCondition } from './condition.ts';
import { extraFieldRule, type ExtraRule } from './extra-fields.ts';
import { CONTRACT_FIELDS, type ColumnLayout } from './header.ts';
import { normalisePrice } from './price.ts';
import { shapeProblems, validateRowShape, type FieldProblem } from './row-schema.ts';
import { lengthProblem } from './text.ts';
import type { IngestEvent, IngestOptions, RejectedRow } from './types.ts';
import { urlProblem } from './url.ts';

/**
 * One CSV record (raw fields) → an accepted Meta item or a rejection naming every broken field.
 * Cells are trimmed. Empty cells of mapped extra columns are sent as "" on purpose: on an UPDATE an empty
 * string clears the field at Meta, so a sale price removed in the source is removed in the catalog too.
 * Built once per file (closure over the layout) so the per-row path does no lookups by name.
 */

export type RowMapper = (fields: readonly string[], line: number) => IngestEvent;

const ID_MAX = 100;
const CONTRACT = new Set<string>(CONTRACT_FIELDS);
// Shared empties: the usual row has no problem and allocates nothing for it.
const NO_PROBLEMS: FieldProblem[] = [];
const NO_FIELDS: ReadonlySet<string> = new Set();

interface Extra {
  field: string;
  rule: ExtraRule | null;
}

export function createRowMapper(layout: ColumnLayout, options: IngestOptions): RowMapper {
  const { width, idIndex } = layout;
  const names = layout.columns.map((c) => c.field);
  const indexes = layout.columns.map((c) => c.index);
  const count = names.length;
  const extras: Extra[] = names
    .filter((f) => !CONTRACT.has(f) && f !== 'condition')
    .map((field) => ({ field, rule: extraFieldRule(field) }));
  const rank = new Map(names.map((f, i) => [f, i]));
  const { currency, defaultCondition, titleMaxLength, descriptionMaxLength } = options;

  function reject(line: number, id: string | undefined, reason: string): RejectedRow {
    const usable = id !== undefined && id !== '' && lengthProblem('id', id, ID_MAX) === null;
    return { kind: 'rejected', line, id: usable ? id : null, reason };
  }

  return (fields, line) => {
    if (fields.length !== width) {
      const hint =
        fields.length > width
          ? ' (an unquoted comma inside a value?)'
          : ' (a missing value, or a line break inside an unquoted value?)';
      return reject(
        line,
        fields[idIndex]?.trim(),
        `the record has ${fields.length} fields but the header has ${width}${hint}`,
      );
    }
    const row: Record<string, string> = {};
    for (let k = 0; k < count; k++) {
      const value = fields[indexes[k]!]!.trim();
      if (value !== '') row[names[k]!] = value;
    }

    let problems: FieldProblem[] = NO_PROBLEMS;
    let shapeFailed: ReadonlySet<string> = NO_FIELDS;
    if (!validateRowShape(row)) {
      problems = shapeProblems(validateRowShape.errors ?? [], row);
      shapeFailed = new Set(problems.map((p) => p.field));
    }
    const check = (field: string, reason: string | null): void => {
      if (reason === null) return;
      if (problems === NO_PROBLEMS) problems = [];
      problems.push({ field, reason });
    };

    const {
      title,
      description,
      link,
      image_link: image,
      availability: availabilityRaw,
      price: priceRaw,
    } = row;
    if (title !== undefined)
      check('title', lengthProblem('title', title, titleMaxLength, 'TITLE_MAX_LENGTH'));
    if (description !== undefined) {
      check(
        'description',
        lengthProblem('description', description, descriptionMaxLength, 'DESCRIPTION_MAX_LENGTH'),
      );
    }
    if (link !== undefined && !shapeFailed.has('link')) check('link', urlProblem('link', link));
    if (image !== undefined && !shapeFailed.has('image_link'))
      check('image_link', urlProblem('image_link', image));
    const availability = availabilityRaw === undefined ? undefined : normaliseAvailability(availabilityRaw);
    if (availability?.ok === false) check('availability', availability.reason);
    const price = priceRaw === undefined ? undefined : normalisePrice(priceRaw, currency);
    if (price?.ok === false) check('price', price.reason);
    const condition = row.condition === undefined ? undefined : normaliseCondition(row.condition);
    if (condition?.ok === false) check('condition', condition.reason);

    const item = row as unknown as CatalogItem;
    for (const { field, rule } of extras) {
      const value = row[field];
      if (value === undefined) {
        item[field] = '';
      } else if (rule !== null) {
        const result = rule(value, currency);
        if (result.ok) item[field] = result.value;
        else check(field, result.reason);
      }
    }

    if (problems.length > 0) {
      problems.sort((a, b) => (rank.get(a.field) ?? count) - (rank.get(b.field) ?? count));
      return reject(line, row.id, problems.map((p) => p.reason).join('; '));
    }
    if (availability?.ok) item.availability = availability.value;
    if (price?.ok) item.price = price.value;
    item.condition = condition?.ok ? condition.value : defaultCondition;
    return { kind: 'row', line, item };
  };
}
