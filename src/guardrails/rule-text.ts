import type { Price } from './guardrail-types.ts';

/** How the rules write numbers and prices in their messages and evidence. */

export function priceText(p: Price | null): string | null {
  return p === null ? null : `${p.amount} ${p.currency}`;
}

/** One decimal; an infinite ratio (a file of rows after files of none) as a large finite number. */
export function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : 1e9;
}

export function fmt(n: number): string {
  return Number.isFinite(n) ? String(round(n)) : 'infinitely many';
}
