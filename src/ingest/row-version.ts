/**
 * The optional per-row version column (VERSION_COLUMN, e.g. `updated_at` as database exports carry it):
 * when configured, it orders rows of one product before anything about their files. Accepted forms: a
 * number (an integer version or epoch value) or an ISO 8601 date or date-time (compared as UTC ms).
 */
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseRowVersion(raw: string): number | null {
  const v = raw.trim();
  if (v === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  if (!ISO.test(v)) return null;
  // A date-time without a zone is read as UTC, the same on every worker whatever its TZ.
  const withZone =
    /[T ]\d{2}:\d{2}/.test(v) && !/(Z|[+-]\d{2}:?\d{2})$/.test(v)
      ? `${v.replace(' ', 'T')}Z`
      : v.replace(' ', 'T');
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? null : ms;
}
