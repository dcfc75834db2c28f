import { quote } from './text.ts';

/**
 * `null` when `value` is an absolute http(s) URL Meta can fetch, else the reason. The schema has already
 * checked the scheme prefix; this parses the rest. Whitespace is refused rather than encoded for the
 * producer: a space in a URL is usually a broken export, and silently rewriting links hides that.
 */
export function urlProblem(field: string, value: string): string | null {
  if (!URL.canParse(value)) return `${field} ${quote(value)} is not a valid URL`;
  if (/\s/.test(value)) return `${field} ${quote(value)} contains whitespace: percent-encode it (%20)`;
  return null;
}

/** The schema's reason for a value without an http(s) scheme. */
export function notAbsoluteReason(field: string, value: string): string {
  const relative = value.startsWith('/') || value.startsWith('.');
  return `${field} ${quote(value)} is not an absolute http(s) URL${relative ? ' (relative URLs are not allowed)' : ''}`;
}
