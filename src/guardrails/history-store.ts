import type { S3Client } from '@aws-sdk/client-s3';
import { countProducts, type WholeState } from '../drift/state-scan.ts';
import { ConditionFailedError, getJson, putJson, type Versioned } from '../shared/s3-json.ts';
import { guardrailHistoryKey } from '../contract/layout.ts';

/**
 * The two anchors of the guardrail rules, kept in one small document of the synced bucket,
 * s3://<synced>/<prefix>guardrails/history.json:
 * - `knownProducts`: how many products the catalog is known to hold (product state entries). Counted
 *   from the state once (the first flush after an upgrade, 256 reads at most), then kept up to date by
 *   every flush that sends new products, and set exactly again by every drift check (which reads the
 *   whole state anyway).
 * - `files`: the row counts of the last files that were sent (not of held ones), newest last.
 * Written under the catalog lease with a conditional write, so two writers cannot lose each other's count.
 */

export const HISTORY_FILES = 20;

export interface HistoryFile {
  key: string;
  rows: number;
  at: string;
}

export interface HistoryDoc {
  v: 1;
  knownProducts: number;
  /** When knownProducts was last counted from the state (not merely incremented). */
  countedAt: string;
  updatedAt: string;
  files: HistoryFile[];
}

export interface HistoryLocation {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  /** The product state, to count the known catalog when there is no history yet. */
  state?: WholeState | undefined;
}

export class GuardrailHistory {
  readonly #loc: HistoryLocation;
  readonly #now: () => number;

  constructor(loc: HistoryLocation, now: () => number = Date.now) {
    this.#loc = loc;
    this.#now = now;
  }

  async read(): Promise<Versioned<HistoryDoc> | null> {
    const got = await getJson<HistoryDoc>(
      this.#loc.s3,
      this.#loc.bucket,
      guardrailHistoryKey(this.#loc.syncedPrefix),
    );
    if (!got || got.value.v !== 1 || typeof got.value.knownProducts !== 'number') return null;
    return {
      value: { ...got.value, files: Array.isArray(got.value.files) ? got.value.files : [] },
      etag: got.etag,
    };
  }

  /** The document, counting the known products from the state when there is none yet. */
  async load(): Promise<HistoryDoc> {
    const got = await this.read();
    if (got) return got.value;
    const known = this.#loc.state ? await countProducts(this.#loc.state) : 0;
    const at = new Date(this.#now()).toISOString();
    const doc: HistoryDoc = { v: 1, knownProducts: known, countedAt: at, updatedAt: at, files: [] };
    await this.#write((cur) => cur ?? doc);
    return doc;
  }

  /** After a window was sent: its new products join the known catalog, its files the recent ones. */
  async recordSent(newProducts: number, files: readonly { key: string; rows: number }[]): Promise<void> {
    const at = new Date(this.#now()).toISOString();
    const kept = files.filter((f) => f.rows > 0).map((f) => ({ key: f.key, rows: f.rows, at }));
    if (newProducts === 0 && kept.length === 0) return;
    await this.#write((cur) => {
      const base = cur ?? { v: 1 as const, knownProducts: 0, countedAt: at, updatedAt: at, files: [] };
      return {
        ...base,
        knownProducts: base.knownProducts + newProducts,
        updatedAt: at,
        files: [...base.files, ...kept].slice(-HISTORY_FILES),
      };
    });
  }

  /** A full count (drift check, state export) replaces the running one. */
  async setKnownProducts(count: number): Promise<void> {
    const at = new Date(this.#now()).toISOString();
    await this.#write((cur) => ({
      ...(cur ?? { v: 1 as const, files: [] }),
      knownProducts: count,
      countedAt: at,
      updatedAt: at,
    }));
  }

  async #write(change: (current: HistoryDoc | null) => HistoryDoc): Promise<void> {
    const key = guardrailHistoryKey(this.#loc.syncedPrefix);
    for (let attempt = 1; ; attempt++) {
      const cur = await this.read();
      const next = change(cur?.value ?? null);
      try {
        await putJson(
          this.#loc.s3,
          this.#loc.bucket,
          key,
          next,
          cur ? { ifMatch: cur.etag } : { ifNoneMatch: '*' },
        );
        return;
      } catch (err) {
        if (!(err instanceof ConditionFailedError) || attempt >= 5) throw err;
      }
    }
  }
}
