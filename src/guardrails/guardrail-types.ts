/** The guardrails' vocabulary: the facts a window is judged on, the limits, and the verdict (rules.ts). */

export interface GuardrailLimits {
  minKnownProducts: number;
  maxChangedPct: number;
  priceDropPct: number;
  maxPriceDropItemsPct: number;
  minItems: number;
  nearZeroPrice: number;
  maxNearZeroItems: number;
  maxOutOfStockPct: number;
  /** 0 turns the file-size rule off. */
  fileSizeRatio: number;
  fileSizeHistory: number;
}

export const DEFAULT_LIMITS: GuardrailLimits = {
  minKnownProducts: 100,
  maxChangedPct: 50,
  priceDropPct: 50,
  maxPriceDropItemsPct: 20,
  minItems: 10,
  nearZeroPrice: 0.01,
  maxNearZeroItems: 0,
  maxOutOfStockPct: 30,
  fileSizeRatio: 10,
  fileSizeHistory: 5,
};

export interface Price {
  amount: number;
  currency: string;
}

/** What one item of the window would change; `old*` are what was last sent (null: not known). */
export interface ChangeFacts {
  id: string;
  /** No earlier send of this product is known: a new product. */
  isNew: boolean;
  oldPrice: Price | null;
  newPrice: Price | null;
  oldAvailability: string | null;
  newAvailability: string | null;
}

export interface FileFacts {
  key: string;
  /** Records in the file (valid and rejected). */
  rows: number;
}

export interface GuardrailInput {
  /** Products the catalog is known to hold (product state entries). */
  knownProducts: number;
  /** The items the window would send. */
  changes: readonly ChangeFacts[];
  /** The window's files. */
  files: readonly FileFacts[];
  /** Rows of the recent files that were sent, oldest first. */
  recentFileRows: readonly number[];
}

export type RuleName = 'mass-change' | 'price-drop' | 'near-zero-price' | 'out-of-stock' | 'file-size';

export const RULES: readonly RuleName[] = [
  'mass-change',
  'price-drop',
  'near-zero-price',
  'out-of-stock',
  'file-size',
];

export interface Example {
  id: string;
  old: string | null;
  new: string | null;
}

export interface TrippedRule {
  rule: RuleName;
  message: string;
  value: number;
  threshold: number;
  evidence: { count: number; of: number; examples: Example[] };
}

export interface GuardrailVerdict {
  held: boolean;
  tripped: TrippedRule[];
  /** Rules that did not apply to this window, and why. */
  skipped: { rule: RuleName; why: string }[];
}

/** Examples kept per rule in a manifest or a plan. */
export const EXAMPLES = 10;

/** What one rule made of a window. */
export type RuleOutcome =
  | { kind: 'passed' }
  | { kind: 'tripped'; tripped: TrippedRule }
  | { kind: 'skipped'; rule: RuleName; why: string };

export const PASSED: RuleOutcome = { kind: 'passed' };
