/**
 * Is this string usable as a Graph access token at all? Checked before a token is ever put in a header,
 * because a pasted token often carries an invisible character (a zero-width space, a no-break space, a
 * trailing newline) that `fetch` refuses with a TypeError (anything above U+00FF) or Meta refuses as a
 * malformed token. Either way nothing can work until an operator fixes the token, so the problem is
 * reported as a credentials problem, naming the character's position and code point, never the token.
 *
 * Graph tokens are opaque but plain: letters and digits (user and system-user tokens start with EAA, app
 * tokens are `app_id|secret`), a couple of hundred characters. The rule is deliberately wider than that so
 * test and simulator tokens pass: visible ASCII only (U+0021–U+007E), between TOKEN_MIN_LENGTH and
 * TOKEN_MAX_LENGTH characters.
 */

export const TOKEN_MIN_LENGTH = 16;
export const TOKEN_MAX_LENGTH = 2048;

/** Names of the characters people actually paste by accident, for a message an operator can act on. */
const NAMES: Record<number, string> = {
  0x09: 'tab',
  0x0a: 'line feed',
  0x0d: 'carriage return',
  0x20: 'space',
  0xa0: 'no-break space',
  0xad: 'soft hyphen',
  0x200b: 'zero-width space',
  0x200c: 'zero-width non-joiner',
  0x200d: 'zero-width joiner',
  0x2060: 'word joiner',
  0xfeff: 'byte order mark',
  0x2028: 'line separator',
};

export function describeCodePoint(cp: number): string {
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = NAMES[cp] ?? (cp < 0x20 || cp === 0x7f ? 'control character' : undefined);
  return name ? `${hex} (${name})` : hex;
}

/**
 * Null when the token looks usable; otherwise why not, without the token or any part of it (positions
 * are 1-based and count characters, not UTF-16 units).
 */
export function tokenFormatProblem(token: string): string | null {
  if (token === '') return 'is empty';
  const chars = [...token];
  for (let i = 0; i < chars.length; i++) {
    const cp = chars[i]!.codePointAt(0)!;
    if (cp < 0x21 || cp > 0x7e) {
      const kind = /\s/u.test(chars[i]!) ? 'whitespace' : 'a character that is not visible ASCII';
      return `has ${kind}, ${describeCodePoint(cp)}, at position ${i + 1} of ${chars.length} (re-copy the token without it)`;
    }
  }
  if (chars.length < TOKEN_MIN_LENGTH) {
    return `is ${chars.length} characters long, shorter than any access token (at least ${TOKEN_MIN_LENGTH})`;
  }
  if (chars.length > TOKEN_MAX_LENGTH) {
    return `is ${chars.length} characters long, longer than any access token (at most ${TOKEN_MAX_LENGTH})`;
  }
  return null;
}
