/** Small text helpers shared by the field rules. */

const QUOTE_MAX = 60;

/** A value as it appears inside a reason: JSON-quoted, cut short so one bad cell cannot bloat a report. */
export function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value);
}

/** Length in characters (code points), as Meta counts them; `.length` counts UTF-16 units. */
export function charLength(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** `null` when `value` fits in `max` characters, else the reason. Cheap for the usual short value. */
export function lengthProblem(field: string, value: string, max: number, setting?: string): string | null {
  // Code points never outnumber UTF-16 units, so a short string needs no counting.
  if (value.length <= max) return null;
  const length = charLength(value);
  if (length <= max) return null;
  const source = setting ? ` (${setting})` : '';
  return `${field} is ${length} characters, over the limit of ${max}${source}`;
}
