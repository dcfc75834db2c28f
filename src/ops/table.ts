/**
 * A tiny column formatter for operator output: headers, aligned columns, numbers right-aligned. Enough
 * for `status` and `redrive`; a table library would be a dependency for twenty lines.
 */

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** Numbers align right by default, text left. */
  align?: 'left' | 'right';
  /** Longer cells are cut with an ellipsis so one long error does not push every column off screen. */
  maxWidth?: number;
}

const GAP = '  ';

function cell(raw: string | number | null | undefined, maxWidth: number | undefined): string {
  const text = raw === null || raw === undefined ? '-' : String(raw).replace(/\s+/g, ' ');
  if (maxWidth !== undefined && text.length > maxWidth) return `${text.slice(0, Math.max(1, maxWidth - 1))}…`;
  return text;
}

export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row), c.maxWidth)));
  const numeric = columns.map((c) => {
    if (c.align) return c.align === 'right';
    const values = rows.map((r) => c.value(r));
    return (
      values.some((v) => typeof v === 'number') &&
      values.every((v) => v === null || v === undefined || typeof v === 'number')
    );
  });
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
