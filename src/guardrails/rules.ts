import { massChange, outOfStock } from './catalog-rules.ts';
import { fileSize } from './file-size-rule.ts';
import type {
  GuardrailInput,
  GuardrailLimits,
  GuardrailVerdict,
  RuleName,
  RuleOutcome,
  TrippedRule,
} from './guardrail-types.ts';
import { nearZeroPrice, priceDrop } from './price-rules.ts';

/**
 * The guardrails: rules a window's change set is checked against before anything of it is sent. Pure: the
 * caller passes the facts (what each item would change, the known catalog size, the recent file sizes) and
 * acts on the verdict (the flush holds the window, `plan` reports it). Every rule has a safe default
 * (src/config/variables.ts, GUARDRAIL_*) and says in its message what it measured and against which threshold.
 *
 * The rules:
 * - mass-change: more than GUARDRAIL_MAX_CHANGED_PCT % of the known catalog changing at once.
 * - price-drop: more than GUARDRAIL_MAX_PRICE_DROP_ITEMS_PCT % of the re-priced items falling by more than
 *   GUARDRAIL_PRICE_DROP_PCT % (from GUARDRAIL_MIN_ITEMS re-priced items on; a drop is measured only
 *   between two prices in the same currency).
 * - near-zero-price: more than GUARDRAIL_MAX_NEAR_ZERO_ITEMS items priced at or below
 *   GUARDRAIL_NEAR_ZERO_PRICE (new products included).
 * - out-of-stock: more than GUARDRAIL_MAX_OUT_OF_STOCK_PCT % of the known catalog turning out of stock.
 * - file-size: a file more than GUARDRAIL_FILE_SIZE_RATIO times larger or smaller (in rows) than the
 *   median of the recent files, once GUARDRAIL_FILE_SIZE_HISTORY of them are known (header-only files,
 *   the contract's "nothing changed", are neither judged nor remembered).
 *
 * The percentages of the catalog apply from GUARDRAIL_MIN_KNOWN_PRODUCTS known products on: a first load
 * into an empty catalog changes "100 %" of nothing. A rule that did not apply says why (`skipped`).
 */

type Rule = (input: GuardrailInput, limits: GuardrailLimits) => RuleOutcome;

/** In the order of RULES: the verdict lists tripped and skipped rules in it. */
const CHECKED: readonly Rule[] = [massChange, priceDrop, nearZeroPrice, outOfStock, fileSize];

export function evaluateGuardrails(input: GuardrailInput, limits: GuardrailLimits): GuardrailVerdict {
  const tripped: TrippedRule[] = [];
  const skipped: { rule: RuleName; why: string }[] = [];
  for (const rule of CHECKED) {
    const outcome = rule(input, limits);
    if (outcome.kind === 'tripped') tripped.push(outcome.tripped);
    else if (outcome.kind === 'skipped') skipped.push({ rule: outcome.rule, why: outcome.why });
  }
  return { held: tripped.length > 0, tripped, skipped };
}
