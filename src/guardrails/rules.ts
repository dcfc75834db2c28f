/**
 * The guardrails: rules a window's change set is checked against before anything of it is sent. Pure: the
 * caller passes the facts (what each item would change, the known catalog size, the recent file sizes) and
 * acts on the verdict (the flush holds the window, `plan` reports it). Every rule has a safe default
 * (src/config.ts, GUARDRAIL_*) and says in its message what it measured and against which threshold.
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

const UNAVAILABLE = new Set(['out of stock', 'discontinued']);

export function evaluateGuardrails(input: GuardrailInput, limits: GuardrailLimits): GuardrailVerdict {
  const tripped: TrippedRule[] = [];
  const skipped: { rule: RuleName; why: string }[] = [];
  const known = input.knownProducts;
  const catalogWide = known >= limits.minKnownProducts && known > 0;
  const small = `the known catalog (${known}) is smaller than GUARDRAIL_MIN_KNOWN_PRODUCTS (${limits.minKnownProducts})`;

  // mass-change
  const changed = input.changes.filter((c) => !c.isNew);
  if (!catalogWide) skipped.push({ rule: 'mass-change', why: small });
  else {
    const pct = (changed.length * 100) / known;
    if (pct > limits.maxChangedPct) {
      tripped.push({
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
      });
    }
  }

  // price-drop
  const repriced = input.changes.filter(
    (c) =>
      c.oldPrice !== null &&
      c.newPrice !== null &&
      c.oldPrice.currency === c.newPrice.currency &&
      c.oldPrice.amount > 0 &&
      c.oldPrice.amount !== c.newPrice.amount,
  );
  const drops = repriced.filter((c) => dropPct(c) > limits.priceDropPct);
  if (repriced.length < limits.minItems) {
    skipped.push({
      rule: 'price-drop',
      why: `${repriced.length} re-priced item(s), fewer than GUARDRAIL_MIN_ITEMS (${limits.minItems})`,
    });
  } else {
    const share = (drops.length * 100) / repriced.length;
    if (share > limits.maxPriceDropItemsPct) {
      tripped.push({
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
            .map((c) => ({ id: c.id, old: priceText(c.oldPrice), new: priceText(c.newPrice) })),
        },
      });
    }
  }

  // near-zero-price
  const nearZero = input.changes.filter(
    (c) => c.newPrice !== null && c.newPrice.amount <= limits.nearZeroPrice,
  );
  if (nearZero.length > limits.maxNearZeroItems) {
    tripped.push({
      rule: 'near-zero-price',
      message:
        `${nearZero.length} item(s) priced at or below GUARDRAIL_NEAR_ZERO_PRICE=${limits.nearZeroPrice}, ` +
        `more than GUARDRAIL_MAX_NEAR_ZERO_ITEMS=${limits.maxNearZeroItems}`,
      value: nearZero.length,
      threshold: limits.maxNearZeroItems,
      evidence: {
        count: nearZero.length,
        of: input.changes.length,
        examples: nearZero
          .slice(0, EXAMPLES)
          .map((c) => ({ id: c.id, old: priceText(c.oldPrice), new: priceText(c.newPrice) })),
      },
    });
  }

  // out-of-stock
  const turning = changed.filter(
    (c) =>
      c.oldAvailability !== null &&
      !UNAVAILABLE.has(c.oldAvailability) &&
      c.newAvailability !== null &&
      UNAVAILABLE.has(c.newAvailability),
  );
  if (!catalogWide) skipped.push({ rule: 'out-of-stock', why: small });
  else {
    const pct = (turning.length * 100) / known;
    if (pct > limits.maxOutOfStockPct) {
      tripped.push({
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
      });
    }
  }

  // file-size
  const history = input.recentFileRows;
  if (limits.fileSizeRatio <= 0) skipped.push({ rule: 'file-size', why: 'GUARDRAIL_FILE_SIZE_RATIO is 0' });
  else if (history.length < limits.fileSizeHistory) {
    skipped.push({
      rule: 'file-size',
      why: `${history.length} recent file(s) known, fewer than GUARDRAIL_FILE_SIZE_HISTORY (${limits.fileSizeHistory})`,
    });
  } else {
    const typical = median(history);
    // A header-only file is the contract's "nothing changed", not a truncated export.
    const odd =
      typical <= 0
        ? []
        : input.files.filter((f) => f.rows > 0 && outOfRatio(f.rows, typical, limits.fileSizeRatio));
    if (typical <= 0) skipped.push({ rule: 'file-size', why: 'the recent files had no rows' });
    else if (odd.length > 0) {
      const worst = odd.reduce((a, b) => (ratioOf(b.rows, typical) > ratioOf(a.rows, typical) ? b : a));
      const r = ratioOf(worst.rows, typical);
      tripped.push({
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
      });
    }
  }

  return { held: tripped.length > 0, tripped, skipped };
}

/** How far a price fell, in % of the old price (negative for a rise). */
export function dropPct(c: Pick<ChangeFacts, 'oldPrice' | 'newPrice'>): number {
  if (!c.oldPrice || !c.newPrice || c.oldPrice.amount <= 0) return 0;
  return ((c.oldPrice.amount - c.newPrice.amount) * 100) / c.oldPrice.amount;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How many times larger or smaller `rows` (> 0) is than `typical` (≥ 1). */
function ratioOf(rows: number, typical: number): number {
  return rows >= typical ? rows / typical : typical / rows;
}

function outOfRatio(rows: number, typical: number, ratio: number): boolean {
  return ratioOf(rows, typical) > ratio;
}

export function priceText(p: Price | null): string | null {
  return p === null ? null : `${p.amount} ${p.currency}`;
}

function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : 1e9;
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(round(n)) : 'infinitely many';
}
