import { quote } from './text.ts';

/** Meta's condition values: the documented three plus the finer ones of the SDK's enum. */
export const CONDITION_VALUES = [
  'new',
  'refurbished',
  'used',
  'cpo',
  'open_box_new',
  'used_like_new',
  'used_good',
  'used_fair',
];

const CANONICAL = new Set(CONDITION_VALUES);

export type ConditionResult = { ok: true; value: string } | { ok: false; reason: string };

/** Any case; spaces or hyphens for underscores ("Used - like new" is not guessed, "used like new" is). */
export function normaliseCondition(raw: string): ConditionResult {
  if (CANONICAL.has(raw)) return { ok: true, value: raw };
  const key = raw.toLowerCase().replace(/[\s-]+/g, '_');
  if (CANONICAL.has(key)) return { ok: true, value: key };
  return {
    ok: false,
    reason: `condition ${quote(raw)} is not a known value (use ${CONDITION_VALUES.join(', ')})`,
  };
}
