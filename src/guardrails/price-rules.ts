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
 * The price rules: price-drop (a drop is measured only between two prices in the same currency, from
 * GUARDRAIL_MIN_ITEMS re-priced items on) and near-zero-price (new products included).
 */

/** How far a price fell, in % of the old price (negative for a rise). */
export function dropPct(c: Pick<ChangeFacts, 'oldPrice' | 'newPrice'>): number {
  if (!c.oldPrice || !c.newPrice || c.oldPrice.amount <= 0) return 0;
  return ((c.oldPrice.amount - c.newPrice.amount) * 100) / c.oldPrice.amount;
}

const example = (c: ChangeFacts) => ({ id: c.id, old: priceText(c.oldPrice), new: priceText(c.newPrice) });

export function priceDrop(input: GuardrailInput, limits: GuardrailLimits): RuleOutcome {
  const repriced = input.changes.filter(
    (c) =>
      c.oldPrice !== null &&
      c.newPrice !== null &&
      c.oldPrice.currency === c.newPrice.currency &&
      c.oldPrice.amount > 0 &&
      c.oldPrice.amount !== c.newPrice.amount,
  );
  if (repriced.length < limits.minItems) {
    return {
      kind: 'skipped',
      rule: 'price-drop',
      why: `${repriced.length} re-priced item(s), fewer than GUARDRAIL_MIN_ITEMS (${limits.minItems})`,
    };
  }
  const drops = repriced.filter((c) => dropPct(c) > limits.priceDropPct);
  const share = (drops.length * 100) / repriced.length;
  if (share <= limits.maxPriceDropItemsPct) return PASSED;
  return {
    kind: 'tripped',
    tripped: {
      rule: 'price-drop',
      message:
        `${drops.length} of ${repriced.length} re-priced items (${fmt(share)} %) drop by more than ` +
        `GUARDRAIL_PRICE_DROP_PCT=${fmt(limits.priceDropPct)} %, more than ` +
        `GUARDRAIL_MAX_PRICE_DROP_ITEMS_PCT=${fmt(limits.maxPriceDropItemsPct)} %`,
      value: round(share),
      threshold: limits.maxPriceDropItemsPct,
      evidence: {
        count: drops.length,
        of: repriced.length,
        examples: [...drops]
          .sort((a, b) => dropPct(b) - dropPct(a))
          .slice(0, EXAMPLES)
          .map(example),
      },
    },
  };
}

export function nearZeroPrice(input: GuardrailInput, limits: GuardrailLimits): RuleOutcome {
  const nearZero = input.changes.filter(
    (c) => c.newPrice !== null && c.newPrice.amount <= limits.nearZeroPrice,
  );
  if (nearZero.length <= limits.maxNearZeroItems) return PASSED;
  return {
    kind: 'tripped',
    tripped: {
      rule: 'near-zero-price',
      message:
        `${nearZero.length} item(s) priced at or below GUARDRAIL_NEAR_ZERO_PRICE=${limits.nearZeroPrice}, ` +
        `more than GUARDRAIL_MAX_NEAR_ZERO_ITEMS=${limits.maxNearZeroItems}`,
      value: nearZero.length,
      threshold: limits.maxNearZeroItems,
      evidence: {
        count: nearZero.length,
        of: input.changes.length,
        examples: nearZero.slice(0, EXAMPLES).map(example),
      },
    },
  };
}
