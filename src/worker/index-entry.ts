import type { SourceStamp } from '../contract/product-state.ts';
import type { SpoolRef } from './spool.ts';

/**
 * One product of a window, without its item: what the send gate, the chunking, the guardrails and the
 * payload origins need, and where the item is in its file's spool. ProductIndex hands out views that
 * read their slot's columns; nothing in an entry holds the item.
 */
export interface IndexEntry extends SpoolRef {
  readonly id: string;
  readonly hash: string;
  /** Shared by every row of a file without a version column. */
  readonly stamp: SourceStamp;
  readonly line: number;
  /** Index into the window's sources. */
  readonly source: number;
  /** Position in the window (insertion order). A newer row keeps the position. */
  readonly n: number;
  /** The two values the guardrails judge (facts.ts), when the item has them as strings. */
  readonly price: string | null;
  readonly availability: string | null;
}

/** What a view reads its slot from (ProductIndex). */
export interface SlotReader {
  idAt(slot: number): string;
  hashAt(slot: number): string;
  stampAt(slot: number): SourceStamp;
  lineAt(slot: number): number;
  sourceAt(slot: number): number;
  atAt(slot: number): number;
  lenAt(slot: number): number;
  priceAt(slot: number): string | null;
  availabilityAt(slot: number): string | null;
}

/** One slot of an index, read from its columns when asked (a pointer and a number in memory). */
export class EntryView implements IndexEntry {
  readonly #index: SlotReader;
  readonly n: number;

  constructor(index: SlotReader, slot: number) {
    this.#index = index;
    this.n = slot;
  }

  get id(): string {
    return this.#index.idAt(this.n);
  }
  get hash(): string {
    return this.#index.hashAt(this.n);
  }
  get stamp(): SourceStamp {
    return this.#index.stampAt(this.n);
  }
  get line(): number {
    return this.#index.lineAt(this.n);
  }
  get source(): number {
    return this.#index.sourceAt(this.n);
  }
  get at(): number {
    return this.#index.atAt(this.n);
  }
  get len(): number {
    return this.#index.lenAt(this.n);
  }
  get price(): string | null {
    return this.#index.priceAt(this.n);
  }
  get availability(): string | null {
    return this.#index.availabilityAt(this.n);
  }

  toJSON(): Omit<IndexEntry, never> {
    const { id, hash, stamp, line, source, n, at, len, price, availability } = this;
    return { id, hash, stamp, line, source, n, at, len, price, availability };
  }
}
