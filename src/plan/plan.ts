import type { ProductStateEntry } from '../contract/product-state.ts';
import type { Readable } from 'node:stream';
import { readProducts } from '../ingest/csv-reader.ts';
import { FileUnusableError, type IngestOptions } from '../ingest/types.ts';
import { parsePrice } from '../guardrails/facts.ts';
import type { GuardrailVerdict } from '../guardrails/guardrail-types.ts';
import { dropPct } from '../guardrails/price-rules.ts';
import { judgeWindow, limitsOf, type GuardrailConfig } from '../guardrails/window-check.ts';
import type { CatalogClient, CatalogItem } from '../meta/types.ts';
import { judge } from '../state/send-gate.ts';
import { planSendChunks } from '../worker/flush.ts';
import { sourceStamp, type WindowSource } from '../worker/window-buffer.ts';
import { FileRowCollector, type PlanCandidate as Candidate } from './row-collector.ts';

/**
 * `catalog-sync plan`: what a file would do against the current product state, without sending anything.
 * It runs the worker's own steps on the file: the CSV reader, the per-file collector (the last line per id
 * wins), the window buffer (hash and source stamp), the send gate's verdict for each product, and the
 * flush's chunking with the client's own body size, so the call estimate is what the worker then spends
 * for this file alone in its window. The file is placed at `now` (the moment it would be uploaded) under
 * its landing key; with VERSION_COLUMN set, the rows' versions decide what is older, as in the worker.
 *
 * Earlier sends still open are taken as accepted (the worker would wait for them, then decide the same).
 * Field changes compare with the item last sent for the product (its batch payload, or the export's
 * copy). The guardrails are judged as the flush judges them, from the product state's own last values.
 */

export interface PlanSource {
  /** Where the state comes from, for the report ("s3://bucket/synced/", "export ./state"). */
  describe: string;
  entries(ids: readonly string[]): Promise<Map<string, ProductStateEntry>>;
  /** The item last sent for each of these products, when it is still stored. */
  lastSent(entries: ReadonlyMap<string, ProductStateEntry>): Promise<Map<string, CatalogItem>>;
  /** The guardrails' anchors: known catalog size and the rows of the recent files. */
  anchors(): Promise<{ knownProducts: number; recentFileRows: number[] }>;
}

export interface PlanOptions {
  file: string;
  /** The landing key the file would be uploaded under. */
  key: string;
  open: () => Readable;
  bytes: number | null;
  ingest: IngestOptions;
  client: Pick<CatalogClient, 'payloadBytes'>;
  batchMaxItems: number;
  maxPayloadBytes: number;
  guardrails: GuardrailConfig;
  now: number;
}

export interface FieldChange {
  field: string;
  old: string | null;
  new: string | null;
  /** Prices in the same currency: the relative change, e.g. "-50 %". */
  change?: string;
}

export interface PlanReport {
  file: string;
  key: string;
  state: string;
  plannedAt: string;
  /** Set when the file is unusable as a whole: nothing of it would be sent. */
  problem?: { kind: string; message: string; line: number | null };
  counts: {
    rows: number;
    valid: number;
    rejected: number;
    /** Lines of an id that a later line of the same id replaced. */
    supersededInFile: number;
    new: number;
    changed: number;
    unchanged: number;
    older: number;
  };
  /** items_batch calls the worker would make for this file. */
  calls: number;
  batches: { items: number; bytes: number }[];
  new: { id: string; line: number }[];
  changed: { id: string; line: number; fields: FieldChange[] | null; note?: string }[];
  unchanged: { id: string; line: number }[];
  older: { id: string; line: number; sentFrom: string; sentAt: string; version?: number | null }[];
  rejected: { line: number; id: string | null; reason: string }[];
  guardrails: {
    enabled: boolean;
    held: boolean;
    knownProducts: number;
    recentFiles: number;
    tripped: GuardrailVerdict['tripped'];
    skipped: GuardrailVerdict['skipped'];
  };
}

export async function planFile(source: PlanSource, o: PlanOptions): Promise<PlanReport> {
  const collector = new FileRowCollector();
  const rejected: PlanReport['rejected'] = [];
  let problem: PlanReport['problem'];
  try {
    for await (const event of readProducts(o.open(), o.ingest)) {
      if (event.kind === 'row') collector.accept(event.item, event.line, event.version ?? null);
      else {
        collector.reject();
        rejected.push({ line: event.line, id: event.id, reason: event.reason });
      }
    }
  } catch (err) {
    if (!(err instanceof FileUnusableError)) throw err;
    problem = { kind: err.problem, message: err.message, line: err.line ?? null };
    collector.rows.clear();
    collector.counts.valid = 0;
    collector.counts.superseded = 0;
  }
  const sourceDoc: WindowSource = {
    bucket: 'plan',
    key: o.key,
    etag: 'plan',
    versionId: null,
    sequencer: null,
    eventTime: o.now,
    size: o.bytes,
    fileError: problem ? `${problem.kind}: ${problem.message}` : null,
    errorReportKey: null,
    rows: collector.counts,
  };
  const candidates = collector.candidates(sourceStamp(sourceDoc));

  const ids = [...candidates.keys()];
  const entries = ids.length > 0 ? await source.entries(ids) : new Map<string, ProductStateEntry>();
  const report: PlanReport = {
    file: o.file,
    key: o.key,
    state: source.describe,
    plannedAt: new Date(o.now).toISOString(),
    ...(problem ? { problem } : {}),
    counts: {
      rows: collector.counts.total,
      valid: collector.counts.valid,
      rejected: collector.counts.rejected,
      supersededInFile: collector.counts.superseded,
      new: 0,
      changed: 0,
      unchanged: 0,
      older: 0,
    },
    calls: 0,
    batches: [],
    new: [],
    changed: [],
    unchanged: [],
    older: [],
    rejected,
    guardrails: {
      enabled: o.guardrails.guardrailsEnabled,
      held: false,
      knownProducts: 0,
      recentFiles: 0,
      tripped: [],
      skipped: [],
    },
  };

  const toSend: Candidate[] = [];
  const changed: Candidate[] = [];
  const notes = new Map<string, string>();
  for (const [id, c] of candidates) {
    const entry = entries.get(id);
    // An earlier send still open is taken as accepted: the worker waits for it, then judges the same way.
    const settled = entry?.open ? { ...entry, open: undefined } : entry;
    const verdict = judge({ hash: c.hash, stamp: c.stamp }, { entry: settled, now: o.now, resend: false });
    if (verdict.kind === 'older') {
      report.older.push({
        id,
        line: c.line,
        sentFrom: entry!.sourceKey,
        sentAt: new Date(entry!.sourceTime).toISOString(),
        ...(entry!.version !== undefined ? { version: entry!.version } : {}),
      });
      continue;
    }
    if (verdict.kind === 'unchanged') {
      report.unchanged.push({ id, line: c.line });
      continue;
    }
    toSend.push(c);
    if (!entry) report.new.push({ id, line: c.line });
    else {
      changed.push(c);
      if (verdict.kind === 'wait') notes.set(id, 'waits first for an earlier send of it to settle at Meta');
      else if (entry.contentHash === '' || entry.contentHash === c.hash) {
        notes.set(id, 'sent again: Meta did not accept (or has not confirmed) its last send');
      }
    }
  }
  if (changed.length > 0) {
    const sentBefore = await source.lastSent(
      new Map(changed.map((c) => [c.item.id, entries.get(c.item.id)!])),
    );
    for (const c of changed) {
      const last = sentBefore.get(c.item.id);
      const note = notes.get(c.item.id) ?? (last ? undefined : 'what was sent last is no longer stored');
      report.changed.push({
        id: c.item.id,
        line: c.line,
        fields: last ? fieldChanges(last, c.item) : null,
        ...(note ? { note } : {}),
      });
    }
  }
  report.counts.new = report.new.length;
  report.counts.changed = report.changed.length;
  report.counts.unchanged = report.unchanged.length;
  report.counts.older = report.older.length;

  const chunks = planSendChunks(o.client, o, toSend);
  report.calls = chunks.length;
  report.batches = chunks.map((chunk) => ({
    items: chunk.length,
    bytes: o.client.payloadBytes(chunk.map((c) => c.item)),
  }));

  if (o.guardrails.guardrailsEnabled && toSend.length > 0) {
    const anchors = await source.anchors();
    const verdict = judgeWindow(
      { toSend: toSend.map((c) => c.item), snapshot: { get: (id) => entries.get(id) }, sources: [sourceDoc] },
      anchors,
      limitsOf(o.guardrails),
    );
    report.guardrails = {
      enabled: true,
      held: verdict.held,
      knownProducts: anchors.knownProducts,
      recentFiles: anchors.recentFileRows.length,
      tripped: verdict.tripped,
      skipped: verdict.skipped,
    };
  }
  return report;
}

/** Every field whose value differs between what was sent and the new row (id aside), prices with their change. */
export function fieldChanges(before: Record<string, unknown>, after: Record<string, unknown>): FieldChange[] {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((f) => f !== 'id')
    .sort();
  const out: FieldChange[] = [];
  for (const field of fields) {
    const a = show(before[field]);
    const b = show(after[field]);
    if (a === b) continue;
    const change: FieldChange = { field, old: a, new: b };
    const pa = parsePrice(before[field]);
    const pb = parsePrice(after[field]);
    if (pa && pb && pa.currency === pb.currency && pa.amount > 0) {
      const pct = -dropPct({ oldPrice: pa, newPrice: pb });
      change.change = `${pct > 0 ? '+' : ''}${Math.round(pct * 10) / 10} %`;
    }
    out.push(change);
  }
  return out;
}

function show(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}
