import { randomBytes } from 'node:crypto';
import type { StoredProduct } from './types.ts';
import { mergeItem, missingRequired, type RowCheck } from './validate.ts';

/**
 * The simulator's state: products per catalog, batches by handle, and the rolling call windows of the
 * two budgets. Batches are processed lazily and in submission order: whenever someone looks (a status
 * read, a product listing, a new batch), every batch whose processing time has come is applied. So the
 * outcome depends only on the (injectable) clock, never on timers.
 */

export interface Issue {
  line: number;
  id: string | null;
  message: string;
}

export interface Row extends RowCheck {
  /** Decided when the batch arrives (the rejectIdPattern fault at that moment). */
  rejectedByFault: boolean;
  /** Filled in during processing. */
  lateErrors: string[];
}

export interface Batch {
  handle: string;
  catalogId: string;
  submittedAt: number;
  dueAt: number;
  allowUpsert: boolean;
  rows: Row[];
  /** batchErrorRate fault: ends with status `error`, nothing applied. */
  failed: boolean;
  processed: boolean;
}

export interface BatchView {
  status: string;
  errors: Issue[];
  warnings: Issue[];
  invalidIds: string[];
}

export class CatalogState {
  private products = new Map<string, Map<string, StoredProduct & { _fbid: string }>>();
  private batches = new Map<string, Batch>();
  private windows = new Map<string, number[]>();
  private nextFbid = 1_000_000_000_000_000;

  reset(): void {
    this.products.clear();
    this.batches.clear();
    this.windows.clear();
  }

  /** Counts of calls in the rolling window of `key`, after dropping those older than the window. */
  windowCalls(key: string, at: number, windowMs: number): number[] {
    const list = (this.windows.get(key) ?? []).filter((t) => t > at - windowMs);
    this.windows.set(key, list);
    return list;
  }

  recordCall(key: string, at: number): void {
    const list = this.windows.get(key) ?? [];
    list.push(at);
    this.windows.set(key, list);
  }

  addBatch(b: Omit<Batch, 'handle' | 'processed'>): Batch {
    const handle = `Ac${randomBytes(18).toString('base64url')}`;
    const batch: Batch = { ...b, handle, processed: false };
    this.batches.set(handle, batch);
    return batch;
  }

  batch(handle: string): Batch | undefined {
    return this.batches.get(handle);
  }

  allBatches(): Batch[] {
    return [...this.batches.values()];
  }

  /** Applies every batch whose time has come, oldest first. */
  processDue(at: number): void {
    for (const b of this.batches.values()) {
      if (!b.processed && b.dueAt <= at) this.process(b);
    }
  }

  private catalog(catalogId: string) {
    let c = this.products.get(catalogId);
    if (!c) this.products.set(catalogId, (c = new Map()));
    return c;
  }

  private process(b: Batch): void {
    b.processed = true;
    const store = this.catalog(b.catalogId);
    for (const row of b.rows) {
      if (row.errors.length > 0 || row.id === null) continue;
      if (row.rejectedByFault) {
        row.lateErrors.push(
          `Item "${row.id}" was rejected during processing (simulated rejectIdPattern fault)`,
        );
        continue;
      }
      if (b.failed) continue;
      const existing = store.get(row.id);
      if (row.method === 'DELETE') {
        store.delete(row.id);
        continue;
      }
      if (!existing && row.method === 'UPDATE' && !b.allowUpsert) {
        row.lateErrors.push(`No item with id "${row.id}" exists and allow_upsert is false`);
        continue;
      }
      const merged = mergeItem(row.method === 'CREATE' ? undefined : existing, row.data);
      const missing = missingRequired(merged);
      if (missing.length > 0) {
        row.lateErrors.push(`Missing required field(s) for a new item: ${missing.join(', ')}`);
        continue;
      }
      const fbid = existing?._fbid ?? String(this.nextFbid++);
      store.set(row.id, { ...merged, id: row.id, _fbid: fbid });
    }
  }

  /** What check_batch_request_status reports for a batch right now. */
  view(b: Batch, at: number, lineBase: number): BatchView {
    if (!b.processed) {
      const elapsed = at - b.submittedAt;
      const status = elapsed < (b.dueAt - b.submittedAt) / 3 ? 'dispatched' : 'started';
      return { status, errors: [], warnings: [], invalidIds: [] };
    }
    const errors: Issue[] = [];
    const warnings: Issue[] = [];
    const invalid = new Set<string>();
    for (const row of b.rows) {
      const line = row.index + lineBase;
      for (const message of [...row.errors, ...row.lateErrors]) {
        errors.push({ line, id: row.id, message });
        if (row.id !== null) invalid.add(row.id);
      }
      for (const message of row.warnings) warnings.push({ line, id: row.id, message });
    }
    return { status: b.failed ? 'error' : 'finished', errors, warnings, invalidIds: [...invalid] };
  }

  /** Stored items as sent (retailer id in `id`), in insertion order. */
  list(catalogId: string): StoredProduct[] {
    return [...(this.products.get(catalogId)?.values() ?? [])].map(({ _fbid: _, ...p }) =>
      structuredClone(p),
    );
  }

  /** As Meta's /products edge shows them: FBID in `id`, SKU in `retailer_id`. */
  listGraph(catalogId: string): Record<string, unknown>[] {
    return [...(this.products.get(catalogId)?.values() ?? [])].map(({ _fbid, id, ...rest }) => ({
      id: _fbid,
      retailer_id: id,
      ...rest,
    }));
  }
}
