import type { ProductStateEntry } from '../contract/product-state.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';

/**
 * The whole product state, from whichever store holds it (STATE_STORE: the S3 shards or DynamoDB), through
 * the store's own `entries()`: what the drift check compares the catalog with, what `state export` writes
 * out, and how the guardrails count the known catalog the first time. Its cost grows with the catalog.
 */

export type WholeState = Pick<ProductStateStore, 'entries'>;

/** Every product's entry, by retailer id. */
export async function readAllEntries(state: WholeState): Promise<Map<string, ProductStateEntry>> {
  const out = new Map<string, ProductStateEntry>();
  for await (const [id, entry] of state.entries()) out.set(id, entry);
  return out;
}

export async function countProducts(state: WholeState): Promise<number> {
  let n = 0;
  for await (const _ of state.entries()) n++;
  return n;
}
