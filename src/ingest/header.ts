/**
 * The header row → where each field comes from. Names are matched trimmed, case-insensitively, with runs
 * of whitespace read as `_` ("Image Link" is image_link). COLUMN_MAP (csv column → Meta field) is applied
 * first, so it can also rename a contract column ({"name": "title"}). A column named `condition` is used
 * as Meta's condition without mapping. Other columns are ignored.
 */

export const CONTRACT_FIELDS = [
  'id',
  'title',
  'description',
  'link',
  'image_link',
  'availability',
  'price',
  'brand',
] as const;

const KNOWN = new Set<string>([...CONTRACT_FIELDS, 'condition']);

export interface SourceColumn {
  /** Meta field the column feeds. */
  field: string;
  /** 0-based position in each record. */
  index: number;
}

export interface ColumnLayout {
  /** Fields per record the header promises. */
  width: number;
  /** Contract fields in contract order, then `condition`, then mapped extras in header order. */
  columns: SourceColumn[];
  idIndex: number;
}

export type HeaderResult =
  | { ok: true; layout: ColumnLayout }
  | { ok: false; problem: 'missing-columns' | 'duplicate-columns' | 'not-csv'; message: string };

export function normaliseColumnName(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, '_');
}

export function normaliseColumnMap(columnMap: Record<string, string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [column, field] of Object.entries(columnMap)) map.set(normaliseColumnName(column), field.trim());
  return map;
}

export function resolveHeader(
  names: readonly string[],
  columnMap: ReadonlyMap<string, string>,
): HeaderResult {
  if (names.length === 1 && /[;\t|]/.test(names[0]!)) {
    const sep = names[0]!.includes(';') ? 'semicolons' : names[0]!.includes('\t') ? 'tabs' : '|';
    return {
      ok: false,
      problem: 'not-csv',
      message: `the header is one column separated by ${sep}; catalog-sync reads comma-separated files`,
    };
  }
  const sources = new Map<string, number>();
  for (let index = 0; index < names.length; index++) {
    const name = normaliseColumnName(names[index]!);
    if (name === '') continue; // an unnamed column (e.g. a trailing comma) carries nothing we use
    const field = columnMap.get(name) ?? (KNOWN.has(name) ? name : undefined);
    if (field === undefined || field === '') continue;
    const earlier = sources.get(field);
    if (earlier !== undefined) {
      return {
        ok: false,
        problem: 'duplicate-columns',
        message: `columns ${describe(names, earlier)} and ${describe(names, index)} both give ${field}`,
      };
    }
    sources.set(field, index);
  }
  const missing = CONTRACT_FIELDS.filter((f) => !sources.has(f));
  if (missing.length > 0) {
    const shown = names.slice(0, 20).map((n) => JSON.stringify(n.trim()));
    return {
      ok: false,
      problem: 'missing-columns',
      message:
        `the header lacks required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(it has ${shown.join(', ')}${names.length > 20 ? ', …' : ''})`,
    };
  }
  const columns: SourceColumn[] = CONTRACT_FIELDS.map((field) => ({ field, index: sources.get(field)! }));
  for (const [field, index] of [...sources].sort((a, b) => a[1] - b[1])) {
    if (!(CONTRACT_FIELDS as readonly string[]).includes(field)) columns.push({ field, index });
  }
  // condition first among the optional ones: the item reads in Meta's documented order
  columns.sort((a, b) => rank(a.field) - rank(b.field));
  return { ok: true, layout: { width: names.length, columns, idIndex: sources.get('id')! } };
}

function rank(field: string): number {
  const i = (CONTRACT_FIELDS as readonly string[]).indexOf(field);
  return i !== -1 ? i : field === 'condition' ? CONTRACT_FIELDS.length : CONTRACT_FIELDS.length + 1;
}

function describe(names: readonly string[], index: number): string {
  return `${JSON.stringify(names[index]!.trim())} (column ${index + 1})`;
}
