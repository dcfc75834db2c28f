import {
  EXAMPLES,
  PASSED,
  type ChangeFacts,
  type GuardrailInput,
  type GuardrailLimits,
  type RuleOutcome,
} from './guardrail-types.ts';
import { fmt, priceText, round } from './rule-text.ts';

/**
 * The rules measured against the known catalog: mass-change and out-of-stock. Both apply from
 * GUARDRAIL_MIN_KNOWN_PRODUCTS known products on: a first load into an empty catalog changes "100 %" of
 * nothing.
 */

const UNAVAILABLE = new Set(['out of stock', 'discontinued']);

/** Whether the catalog-wide rules apply, or why not. */
function tooSmall(known: number, limits: GuardrailLimits): string | null {
  return known >= limits.minKnownProducts && known > 0
    ? null
    : `the known catalog (${known}) is smaller than GUARDRAIL_MIN_KNOWN_PRODUCTS (${limits.minKnownProducts})`;
}

/** Items that change a product already known (not new ones). */
function changedKnown(input: GuardrailInput): ChangeFacts[] {
  return input.changes.filter((c) => !c.isNew);
}

export function massChange(input: GuardrailInput, limits: GuardrailLimits): RuleOutcome {
  const known = input.knownProducts;
  const small = tooSmall(known, limits);
  if (small !== null) return { kind: 'skipped', rule: 'mass-change', why: small };
  const changed = changedKnown(input);
  const pct = (changed.length * 100) / known;
  if (pct <= limits.maxChangedPct) return PASSED;
  return {
    kind: 'tripped',
    tripped: {
      rule: 'mass-change',
      message:
        `${changed.length} of ${known} known products (${fmt(pct)} %) would change at once, ` +
        `more than GUARDRAIL_MAX_CHANGED_PCT=${fmt(limits.maxChangedPct)} %`,
      value: round(pct),
      threshold: limits.maxChangedPct,
      evidence: {
        count: changed.length,
        of: known,
        examples: changed.slice(0, EXAMPLES).map((c) => ({
          id: c.id,
          old: priceText(c.oldPrice),
          new: priceText(c.newPrice),
        })),
      },
    },
  };
}

export function outOfStock(input: GuardrailInput, limits: GuardrailLimits): RuleOutcome {
  const known = input.knownProducts;
  const small = tooSmall(known, limits);
  if (small !== null) return { kind: 'skipped', rule: 'out-of-stock', why: small };
  const turning = changedKnown(input).filter(
    (c) =>
      c.oldAvailability !== null &&
      !UNAVAILABLE.has(c.oldAvailability) &&
      c.newAvailability !== null &&
      UNAVAILABLE.has(c.newAvailability),
  );
  const pct = (turning.length * 100) / known;
  if (pct <= limits.maxOutOfStockPct) return PASSED;
  return {
    kind: 'tripped',
    tripped: {
      rule: 'out-of-stock',
      message:
        `${turning.length} of ${known} known products (${fmt(pct)} %) would turn out of stock, ` +
        `more than GUARDRAIL_MAX_OUT_OF_STOCK_PCT=${fmt(limits.maxOutOfStockPct)} %`,
      value: round(pct),
      threshold: limits.maxOutOfStockPct,
      evidence: {
        count: turning.length,
        of: known,
        examples: turning
          .slice(0, EXAMPLES)
          .map((c) => ({ id: c.id, old: c.oldAvailability, new: c.newAvailability })),
      },
    },
  };
}
