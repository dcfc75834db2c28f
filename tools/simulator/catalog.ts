import { randomBytes } from 'node:crypto';
import type { SimHistoryEntry, StoredProduct } from './types.ts';
import { isKnownField, mergeItem, missingRequired, type RowCheck } from './validate.ts';

/**
 * The simulator's state: products per catalog, batches by handle, the rolling call windows of the two
 * budgets, and every application of an item (the per-product history). Batches are processed lazily:
 * whenever someone looks (a status read, a product listing, a new batch), every batch whose processing
 * time has come is applied, in the order of those times (submission order, unless the reorderBatches
 * fault held a batch back). So the outcome depends only on the (injectable) clock, never on timers.
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
  /** batchError fault: applied although the batch ends in `error`. */
  applyOnFail?: boolean;
  /** batchError fault: named in ids_of_invalid_requests when not applied. */
  listOnFail?: boolean;
}

export interface Batch {
  handle: string;
  catalogId: string;
  submittedAt: number;
  dueAt: number;
  allowUpsert: boolean;
  rows: Row[];
  /** batchError / batchErrorRate fault: ends with status `error`, applying only rows with applyOnFail. */
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
  private applied: SimHistoryEntry[] = [];
  private nextFbid = 1_000_000_000_000_000;

  reset(): void {
    this.products.clear();
    this.batches.clear();
    this.windows.clear();
    this.applied = [];
  }

  /** Applications of items of a catalog (of one retailer id, when given), oldest first. */
  history(catalogId: string | null, id: string | null = null, sinceSeq = 0): SimHistoryEntry[] {
    return this.applied
      .filter(
        (e) =>
          (catalogId === null || e.catalogId === catalogId) &&
          (id === null || e.id === id) &&
          e.seq > sinceSeq,
      )
      .map((e) => ({ ...e, fields: structuredClone(e.fields) }));
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

  /** Applies every batch whose time has come, in the order of those times (ties: submission order). */
  processDue(at: number): void {
    const due = [...this.batches.values()].filter((b) => !b.processed && b.dueAt <= at);
    // Array.prototype.sort is stable: equal times keep submission order.
    due.sort((a, b) => a.dueAt - b.dueAt);
    for (const b of due) this.process(b, at);
  }

  private catalog(catalogId: string) {
    let c = this.products.get(catalogId);
    if (!c) this.products.set(catalogId, (c = new Map()));
    return c;
  }

  private process(b: Batch, at: number): void {
    b.processed = true;
    const store = this.catalog(b.catalogId);
    const record = (row: Row & { id: string }, fields: Record<string, unknown>) =>
      this.applied.push({
        seq: this.applied.length + 1,
        catalogId: b.catalogId,
        id: row.id,
        method: row.method,
        fields,
        handle: b.handle,
        batchStatus: b.failed ? 'error' : 'finished',
        submittedAt: b.submittedAt,
        at,
        time: new Date(at).toISOString(),
      });
    for (const row of b.rows) {
      if (row.errors.length > 0 || row.id === null) continue;
      if (row.rejectedByFault) {
        row.lateErrors.push(
          `Item "${row.id}" was rejected during processing (simulated rejectIdPattern fault)`,
        );
        continue;
      }
      if (b.failed && !row.applyOnFail) {
        if (row.listOnFail) {
          row.lateErrors.push(`Item "${row.id}" was not applied: its batch ended in error (simulated)`);
        }
        continue;
      }
      const existing = store.get(row.id);
      if (row.method === 'DELETE') {
        store.delete(row.id);
        record(row as Row & { id: string }, {});
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
      record(row as Row & { id: string }, appliedFields(row.data));
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

/** The fields of a record that an application sets or clears: known fields, null (a no-op) left out. */
function appliedFields(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(data).filter(([k, v]) => v !== null && v !== undefined && isKnownField(k)),
  );
}
