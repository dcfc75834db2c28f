import {
  EXAMPLES,
  PASSED,
  type GuardrailInput,
  type GuardrailLimits,
  type RuleOutcome,
} from './guardrail-types.ts';
import { fmt, round } from './rule-text.ts';

/**
 * file-size: a file more than GUARDRAIL_FILE_SIZE_RATIO times larger or smaller (in rows) than the median
 * of the recent files, once GUARDRAIL_FILE_SIZE_HISTORY of them are known. Header-only files, the
 * contract's "nothing changed", are neither judged nor remembered.
 */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How many times larger or smaller `rows` (> 0) is than `typical` (≥ 1). */
function ratioOf(rows: number, typical: number): number {
  return rows >= typical ? rows / typical : typical / rows;
}

export function fileSize(input: GuardrailInput, limits: GuardrailLimits): RuleOutcome {
  const history = input.recentFileRows;
  if (limits.fileSizeRatio <= 0)
    return { kind: 'skipped', rule: 'file-size', why: 'GUARDRAIL_FILE_SIZE_RATIO is 0' };
  if (history.length < limits.fileSizeHistory) {
    return {
      kind: 'skipped',
      rule: 'file-size',
      why: `${history.length} recent file(s) known, fewer than GUARDRAIL_FILE_SIZE_HISTORY (${limits.fileSizeHistory})`,
    };
  }
  const typical = median(history);
  if (typical <= 0) return { kind: 'skipped', rule: 'file-size', why: 'the recent files had no rows' };
  // A header-only file is the contract's "nothing changed", not a truncated export.
  const odd = input.files.filter((f) => f.rows > 0 && ratioOf(f.rows, typical) > limits.fileSizeRatio);
  if (odd.length === 0) return PASSED;
  const worst = odd.reduce((a, b) => (ratioOf(b.rows, typical) > ratioOf(a.rows, typical) ? b : a));
  const r = ratioOf(worst.rows, typical);
  return {
    kind: 'tripped',
    tripped: {
      rule: 'file-size',
      message:
        `${worst.key} has ${worst.rows} rows, ${fmt(r)} times ${worst.rows > typical ? 'more' : 'fewer'} than ` +
        `the median of the last ${history.length} files (${typical}), beyond GUARDRAIL_FILE_SIZE_RATIO=${fmt(limits.fileSizeRatio)}`,
      value: round(r),
      threshold: limits.fileSizeRatio,
      evidence: {
        count: odd.length,
        of: input.files.length,
        examples: odd
          .slice(0, EXAMPLES)
          .map((f) => ({ id: f.key, old: `${typical} rows (median)`, new: `${f.rows} rows` })),
      },
    },
  };
}
