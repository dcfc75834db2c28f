import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readDeadLetterReason } from '../../src/dead-letter.ts';
import type { SimCall, SimHistoryEntry, StoredProduct } from '../../tools/simulator/index.ts';
import { valueOf, type Ledger, type UploadRecord } from './ledger.ts';

/**
 * The chaos oracle: what must hold of the whole pipeline, judged from the outside only (the simulator's
 * catalog, history and call log; the manifests, payloads, landing and archive objects in S3; the DLQ).
 * Shared by `npm run chaos` and the failpoint matrix (test/failpoints/matrix.test.ts).
 *
 *  (i)   newest value: at the end the catalog holds, for every product, the value of the last upload that
 *        carries it; and at every check, the simulator's history of every product never went backwards
 *        (each applied value ≥ every value applied before it; re-applying the same value is allowed).
 *  (ii)  known fates: every item of every archived file (archive/ prefix; or, in `archivable` mode, every
 *        landing file the DAG would archive now) is accepted or rejected-with-reason (or superseded by a
 *        newer send) in the delivered manifests that cover it; those manifests have counts.unknown 0 and
 *        no batch still running or unsent; and every valid row of the file is sent or counted as skipped.
 *  (iii) calls: items_batch calls Meta accepted ≤ Σ over manifests of ceil(K/5000) (K: items of the
 *        manifest's first sends) + resend batches (resubmitOf set); the manifests of abandoned or dead
 *        flushes (abandoned, pending) are the "recoveries" inside that sum. Between rounds a call may be in
 *        flight before its manifest records it, so `slack` calls are allowed then (none at the end).
 *  (iv)  every DLQ message carries the worker's reason (src/dead-letter.ts attributes).
 *  (v)   at the end landing/ is empty (in `archivable` mode: every landing file is archivable).
 *
 * The manifest shape is read loosely (schemas/manifest.schema.json, both before and after the send gate:
 * `superseded` items and partial resends are understood), so the oracle does not break when the worker's
 * TypeScript types move.
 */

// ── manifests as read (schemas/manifest.schema.json) ──────────────────────────────────────────────────

export interface MSource {
  bucket: string;
  key: string;
  etag: string;
  eventTime: string;
  rows: {
    total: number;
    valid: number;
    rejected: number;
    unchanged: number;
    older: number;
    superseded: number;
  };
}
export interface MBatch {
  index: number;
  itemCount: number;
  payloadKey: string;
  handle: string | null;
  status: 'unsent' | 'running' | 'finished' | 'error';
  resubmitOf?: number | null;
  rejected?: { id: string; reason: string }[];
  superseded?: { id: string; by: string }[];
}
export interface MManifest {
  manifestId: string;
  window: string;
  /** `held` and `discarded` come with the guardrails (a held window waits for an operator). */
  state: 'pending' | 'submitted' | 'finished' | 'archived' | 'abandoned' | 'held' | 'discarded';
  createdAt: string;
  updatedAt: string;
  sources: MSource[];
  batches: MBatch[];
  counts: { items: number; accepted: number; rejected: number; unknown: number; superseded?: number };
}
interface Payload {
  requests: { data: Record<string, unknown> }[];
  origins: { id: string; key: string; line: number }[];
}

export interface OracleSim {
  calls(): SimCall[];
  history(catalogId: string, id?: string): SimHistoryEntry[];
  products(catalogId: string): StoredProduct[];
}

export interface OracleTarget {
  s3: S3Client;
  sqs: SQSClient;
  landingBucket: string;
  syncedBucket: string;
  dlqUrl: string;
  catalogId: string;
  sim: OracleSim;
  ledger: Ledger;
  landingPrefix?: string;
  archivePrefix?: string;
  syncedPrefix?: string;
}

export interface OracleOptions {
  /** End of the run: also (i) catalog = newest, (v) landing empty, and (iii) without slack. */
  final: boolean;
  /** Which files (ii) judges: those the DAG archived (archive/), or those it would archive now. */
  mode?: 'archived' | 'archivable';
  /** Calls allowed in flight between rounds (one per live worker is plenty). */
  slack?: number;
}

export interface CallNumbers {
  /** items_batch calls Meta accepted (HTTP 200), and calls it refused (faults, throttles). */
  accepted: number;
  refused: number;
  bound: number;
  /** Parts of the bound. */
  flushes: number;
  flushCalls: number;
  recoveries: number;
  recoveryCalls: number;
  resends: number;
  abandoned: number;
  slack: number;
}

export interface OracleReport {
  ok: boolean;
  problems: string[];
  calls: CallNumbers;
  manifests: Record<string, number>;
  judgedFiles: number;
  historyEntries: number;
  dlqMessages: number;
  landing: string[];
}

const DELIVERED = new Set(['finished', 'archived']);
/** Not final: the DAG waits for these. */
const OPEN = new Set(['pending', 'submitted', 'held']);
const MAX_PER_CHECK = 25;

export async function checkOracle(t: OracleTarget, options: OracleOptions): Promise<OracleReport> {
  const landingPrefix = t.landingPrefix ?? 'landing/';
  const archivePrefix = t.archivePrefix ?? 'archive/';
  const syncedPrefix = t.syncedPrefix ?? 'synced/';
  const mode = options.mode ?? 'archived';
  const problems: string[] = [];
  const add = (check: string, list: string[]) => {
    for (const p of list.slice(0, MAX_PER_CHECK)) problems.push(`${check}: ${p}`);
    if (list.length > MAX_PER_CHECK) problems.push(`${check}: … and ${list.length - MAX_PER_CHECK} more`);
  };

  // The call log first: every call it holds was made before the manifests below were read.
  const calls = t.sim.calls().filter((c) => c.catalogId === t.catalogId && c.endpoint === 'items_batch');
  const history = t.sim.history(t.catalogId);
  const products = t.sim.products(t.catalogId);

  const store = new S3View(t.s3);
  const manifests = await store.manifests(t.syncedBucket, `${syncedPrefix}manifests/`);
  const landing = await store.keys(t.landingBucket, landingPrefix);

  // (i) history never went backwards; values are ours.
  add('(i) history', historyProblems(history, t.ledger));
  // (i) newest value, at the end.
  if (options.final) {
    const rejected = await rejectedValues(t.s3, t.syncedBucket, manifests);
    add('(i) newest', newestProblems(products, t.ledger, rejected));
  }

  // (ii) known fates of archived (or archivable) files.
  const files = mode === 'archived' ? await archivedFiles(store, t, landingPrefix, archivePrefix) : [];
  const judged: { key: string; etag: string }[] = [];
  const ii: string[] = [];
  if (mode === 'archived') {
    for (const f of files) {
      if (f.problem) ii.push(f.problem);
      else judged.push(f);
    }
  } else {
    for (const key of landing) {
      const u = t.ledger.byKey(key);
      if (!u) continue;
      const ref = { key, etag: u.etag };
      if (archiveVerdict(ref, manifests, t.landingBucket) === 'ready') judged.push(ref);
    }
  }
  for (const f of judged) ii.push(...(await fileFateProblems(store, t, f, manifests)));
  add('(ii) fates', ii);

  // (iii) items_batch calls vs the bound.
  const numbers = callNumbers(calls, manifests, options.final ? 0 : (options.slack ?? 0));
  if (numbers.accepted > numbers.bound + numbers.slack) {
    add('(iii) calls', [
      `${numbers.accepted} items_batch calls accepted > bound ${numbers.bound}` +
        ` (${numbers.flushCalls} for ${numbers.flushes} flushes + ${numbers.recoveryCalls} for ${numbers.recoveries} recovered flushes + ${numbers.resends} resends)` +
        (numbers.slack ? ` + slack ${numbers.slack}` : ''),
    ]);
  }

  // (iv) every DLQ message has a reason.
  const dlq = await dlqMessages(t.sqs, t.dlqUrl);
  add(
    '(iv) DLQ',
    dlq
      .filter((m) => !m.reason)
      .map((m) => `message ${m.id} has no reason attribute: ${m.body.slice(0, 160)}`),
  );

  // (v) landing empty at the end.
  if (options.final) {
    if (mode === 'archived') {
      add(
        '(v) landing',
        landing.map((k) => `${k} is still in landing/`),
      );
    } else {
      const stuck = landing.filter((key) => {
        const u = t.ledger.byKey(key);
        return !u || archiveVerdict({ key, etag: u.etag }, manifests, t.landingBucket) !== 'ready';
      });
      add(
        '(v) landing',
        stuck.map(
          (k) =>
            `${k} is not archivable (${archiveVerdict({ key: k, etag: t.ledger.byKey(k)?.etag ?? '' }, manifests, t.landingBucket)})`,
        ),
      );
    }
  }

  const states: Record<string, number> = {};
  for (const m of manifests) states[m.state] = (states[m.state] ?? 0) + 1;
  return {
    ok: problems.length === 0,
    problems,
    calls: numbers,
    manifests: states,
    judgedFiles: judged.length,
    historyEntries: history.length,
    dlqMessages: dlq.length,
    landing,
  };
}

/** One line of numbers for a report. */
export function describeReport(r: OracleReport): string {
  const c = r.calls;
  const states = Object.entries(r.manifests)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `calls ${c.accepted} accepted (+${c.refused} refused) vs bound ${c.bound} ` +
    `[${c.flushes} flushes → ${c.flushCalls}, ${c.recoveries} recoveries (${c.abandoned} abandoned) → ${c.recoveryCalls}, ${c.resends} resends${c.slack ? `, slack ${c.slack}` : ''}]; ` +
    `manifests: ${states || 'none'}; files judged ${r.judgedFiles}; history ${r.historyEntries}; DLQ ${r.dlqMessages}; landing ${r.landing.length}`
  );
}

// ── (i) ────────────────────────────────────────────────────────────────────────────────────────────────

export function historyProblems(history: readonly SimHistoryEntry[], ledger: Ledger): string[] {
  const out: string[] = [];
  const best = new Map<string, { value: number; entry: SimHistoryEntry }>();
  const known = new Map<string, Set<number>>();
  for (const u of ledger.uploads) {
    for (const r of u.rows) {
      let s = known.get(r.id);
      if (!s) known.set(r.id, (s = new Set()));
      s.add(r.value);
    }
  }
  const where = (v: number) => ledger.originOf(v)?.key ?? 'no upload';
  for (const e of [...history].sort((a, b) => a.seq - b.seq)) {
    if (e.method === 'DELETE') {
      out.push(`${e.id} was deleted (batch ${e.handle}); nothing deletes in this run`);
      continue;
    }
    const v = valueOf(e.fields.price);
    if (v === null) {
      out.push(`${e.id}: applied price ${JSON.stringify(e.fields.price)} is not a ledger value`);
      continue;
    }
    if (!known.get(e.id)?.has(v)) {
      out.push(`${e.id}: applied value ${v} (${where(v)}) was never uploaded for this product`);
    }
    const prev = best.get(e.id);
    if (prev && v < prev.value) {
      out.push(
        `${e.id} went backwards: ${v} (${where(v)}, batch ${e.handle}, ${e.batchStatus}) applied at ${e.time} ` +
          `after ${prev.value} (${where(prev.value)}, batch ${prev.entry.handle}, ${prev.entry.batchStatus}) at ${prev.entry.time}`,
      );
    }
    if (!prev || v > prev.value) best.set(e.id, { value: v, entry: e });
  }
  return out;
}

/**
 * The catalog holds the newest uploaded value of every product. A product whose newest row Meta rejected
 * (named, with a reason, in a manifest: `rejected`, from rejectedValues) is excused: Meta did not apply it,
 * and the pipeline reports it rather than retrying it. History (never backwards) still applies to it.
 */
export function newestProblems(
  products: readonly StoredProduct[],
  ledger: Ledger,
  rejected: ReadonlyMap<string, ReadonlySet<number>> = new Map(),
): string[] {
  const held = new Map(products.map((p) => [p.id, valueOf(p.price)]));
  const out: string[] = [];
  for (const [id, want] of ledger.expected()) {
    const have = held.get(id);
    if (have === want.value || rejected.get(id)?.has(want.value)) continue;
    const from =
      have === undefined
        ? 'nothing'
        : have === null
          ? 'a foreign value'
          : `${have} (${ledger.originOf(have)?.key})`;
    out.push(`${id}: want ${want.value} (${want.key}), catalog has ${from}`);
  }
  return out;
}

/** Values Meta rejected with a reason, per product, from every manifest's batches and their payloads. */
export async function rejectedValues(
  s3: S3Client,
  syncedBucket: string,
  manifests?: readonly MManifest[],
  syncedPrefix = 'synced/',
): Promise<Map<string, Set<number>>> {
  const store = new S3View(s3);
  const out = new Map<string, Set<number>>();
  for (const m of manifests ?? (await store.manifests(syncedBucket, `${syncedPrefix}manifests/`))) {
    for (const b of m.batches) {
      const named = (b.rejected ?? []).filter((r) => r.reason && r.reason.trim() !== '');
      if (named.length === 0 || (b.status !== 'finished' && b.status !== 'error')) continue;
      const payload = await store.payload(syncedBucket, b.payloadKey);
      for (const r of named) {
        const req = payload?.requests.find((q) => String(q.data.id) === r.id);
        const v = valueOf(req?.data.price);
        if (v === null) continue;
        let set = out.get(r.id);
        if (!set) out.set(r.id, (set = new Set()));
        set.add(v);
      }
    }
  }
  return out;
}

// ── (ii) ───────────────────────────────────────────────────────────────────────────────────────────────

async function archivedFiles(
  store: S3View,
  t: OracleTarget,
  landingPrefix: string,
  archivePrefix: string,
): Promise<{ key: string; etag: string; problem?: string }[]> {
  const out: { key: string; etag: string; problem?: string }[] = [];
  for (const archived of await store.keys(t.landingBucket, archivePrefix)) {
    const key = landingPrefix + archived.slice(archivePrefix.length);
    const head = await store.head(t.landingBucket, archived);
    const etag = head?.metadata['catalog-sync-source-etag'] ?? head?.etag ?? '';
    const u = t.ledger.byKey(key);
    if (!u) out.push({ key, etag, problem: `${archived}: archived file not in the ledger` });
    else if (u.etag !== etag) {
      out.push({ key, etag, problem: `${archived}: holds ETag ${etag}, the upload had ${u.etag}` });
    } else out.push({ key, etag });
  }
  return out;
}

const covers = (m: MManifest, bucket: string, f: { key: string; etag: string }) =>
  m.sources.some((s) => s.bucket === bucket && s.key === f.key && s.etag.replace(/"/g, '') === f.etag);

/**
 * The DAG's archive rule (dags/catalog_sync_reconcile/decisions.py, archive_verdict) at an anchor far
 * enough ahead that every pending manifest is stale: a pending manifest another delivered one took over
 * counts as abandoned.
 */
/** A manifest's state as the DAG sees it: a pending one that a delivered manifest took over is abandoned. */
export function effectiveState(
  m: MManifest,
  manifests: readonly MManifest[],
  bucket: string,
): MManifest['state'] {
  if (m.state !== 'pending') return m.state;
  const takenOver = m.sources.some((src) =>
    manifests.some(
      (o) => o !== m && DELIVERED.has(o.state) && covers(o, bucket, { key: src.key, etag: src.etag }),
    ),
  );
  return takenOver ? 'abandoned' : 'pending';
}

export function archiveVerdict(
  f: { key: string; etag: string },
  manifests: readonly MManifest[],
  bucket: string,
): 'ready' | 'not-covered' | 'waiting' | 'never-delivered' {
  const covering = manifests.filter((m) => covers(m, bucket, f));
  if (covering.length === 0) return 'not-covered';
  const takenOver = covering.some((m) => DELIVERED.has(m.state));
  const states = covering.map((m) => (m.state === 'pending' && takenOver ? 'abandoned' : m.state));
  if (states.some((s) => OPEN.has(s))) return 'waiting';
  // An operator's discard is a final decision about a held window: its files may be archived.
  return states.some((s) => DELIVERED.has(s) || s === 'discarded') ? 'ready' : 'never-delivered';
}

async function fileFateProblems(
  store: S3View,
  t: OracleTarget,
  f: { key: string; etag: string },
  manifests: readonly MManifest[],
): Promise<string[]> {
  const out: string[] = [];
  const u: UploadRecord | undefined = t.ledger.byKey(f.key);
  const covering = manifests.filter((m) => covers(m, t.landingBucket, f));
  const delivered = covering.filter((m) => DELIVERED.has(m.state));
  if (delivered.length === 0 && covering.some((m) => m.state === 'discarded')) return out;
  if (delivered.length === 0) {
    return [
      `${f.key}: archived, but no finished or archived manifest covers it (${covering.map((m) => m.state).join(', ') || 'none'})`,
    ];
  }
  for (const m of delivered) {
    const tag = `${f.key} in ${m.manifestId} (${m.state})`;
    if (m.counts.unknown !== 0) out.push(`${tag}: counts.unknown is ${m.counts.unknown}`);
    const resent = new Set(
      m.batches.flatMap((b) => (b.resubmitOf === null || b.resubmitOf === undefined ? [] : [b.resubmitOf])),
    );
    for (const b of m.batches) {
      if (!resent.has(b.index) && (b.status === 'running' || b.status === 'unsent')) {
        out.push(`${tag}: batch ${b.index} is still ${b.status}`);
      }
    }
    // Every item of this file in a first send has a known fate somewhere in the manifest.
    const payloads = new Map<number, Payload | null>();
    for (const b of m.batches) payloads.set(b.index, await store.payload(t.syncedBucket, b.payloadKey));
    const fromFile = new Set<string>();
    for (const b of m.batches) {
      if (b.resubmitOf !== null && b.resubmitOf !== undefined) continue;
      const p = payloads.get(b.index);
      if (!p) {
        out.push(`${tag}: payload ${b.payloadKey} of batch ${b.index} is missing`);
        continue;
      }
      for (const o of p.origins) if (o.key === f.key) fromFile.add(o.id);
    }
    const idsOf = (b: MBatch) =>
      new Set((payloads.get(b.index)?.requests ?? []).map((r) => String(r.data.id)));
    for (const id of fromFile) {
      let fate: string | null = null;
      for (const b of m.batches) {
        const rejected = b.rejected?.find((r) => r.id === id);
        if (rejected && (b.status === 'finished' || b.status === 'error')) {
          if (!rejected.reason || rejected.reason.trim() === '')
            out.push(`${tag}: ${id} rejected without a reason`);
          fate = 'rejected';
        } else if (b.status === 'finished' && idsOf(b).has(id)) fate ??= 'accepted';
        if (b.superseded?.some((s) => s.id === id)) fate ??= 'superseded';
      }
      if (!fate) {
        const where = m.batches.filter((b) => idsOf(b).has(id)).map((b) => `batch ${b.index} ${b.status}`);
        out.push(
          `${tag}: item ${id} has no known fate (${where.join(', ') || 'in no batch'}), yet the file is archived`,
        );
      }
    }
    // Every valid row of the file is either sent or counted as skipped.
    for (const s of m.sources.filter((x) => x.key === f.key)) {
      const skipped = s.rows.unchanged + s.rows.older + s.rows.superseded;
      if (fromFile.size + skipped < s.rows.valid) {
        out.push(
          `${tag}: ${s.rows.valid} valid rows but only ${fromFile.size} sent + ${skipped} skipped (unchanged/older/superseded)`,
        );
      }
    }
  }
  if (u) {
    const ids = new Set(u.rows.map((r) => r.id));
    const valid = Math.max(...delivered.map((m) => m.sources.find((s) => s.key === f.key)?.rows.valid ?? 0));
    if (valid < ids.size)
      out.push(`${f.key}: ${ids.size} rows uploaded, the manifests saw only ${valid} valid`);
  }
  return out;
}

// ── (iii) ──────────────────────────────────────────────────────────────────────────────────────────────

export function callNumbers(
  calls: readonly SimCall[],
  manifests: readonly MManifest[],
  slack: number,
): CallNumbers {
  let flushes = 0;
  let flushCalls = 0;
  let recoveries = 0;
  let recoveryCalls = 0;
  let resends = 0;
  let abandoned = 0;
  for (const m of manifests) {
    const first = m.batches.filter((b) => b.resubmitOf === null || b.resubmitOf === undefined);
    const k = first.reduce((n, b) => n + b.itemCount, 0);
    resends += m.batches.length - first.length;
    const n = Math.ceil(k / 5000);
    if (m.state === 'abandoned' || m.state === 'pending') {
      if (m.state === 'abandoned') abandoned++;
      if (n > 0) recoveries++;
      recoveryCalls += n;
    } else if (n > 0) {
      flushes++;
      flushCalls += n;
    }
  }
  const accepted = calls.filter((c) => c.outcome === 'ok').length;
  const refused = calls.filter((c) => c.outcome === 'error').length;
  return {
    accepted,
    refused,
    bound: flushCalls + recoveryCalls + resends,
    flushes,
    flushCalls,
    recoveries,
    recoveryCalls,
    resends,
    abandoned,
    slack,
  };
}

// ── (iv) ───────────────────────────────────────────────────────────────────────────────────────────────

/** Every DLQ message (each received once, hidden for a few seconds, then visible again). */
export async function dlqMessages(
  sqs: SQSClient,
  dlqUrl: string,
): Promise<{ id: string; body: string; reason: string | null }[]> {
  const seen = new Map<string, { id: string; body: string; reason: string | null }>();
  for (let i = 0; i < 100; i++) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 5,
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = (res.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) {
      const reason = readDeadLetterReason(m.MessageAttributes);
      seen.set(m.MessageId!, {
        id: m.MessageId!,
        body: m.Body ?? '',
        reason: reason ? `${reason.kind}: ${reason.error}` : null,
      });
    }
  }
  return [...seen.values()];
}

/** Every manifest under `<syncedPrefix>manifests/` (for a chaos run that wants a source's event time). */
export async function readManifests(
  s3: S3Client,
  syncedBucket: string,
  syncedPrefix = 'synced/',
): Promise<MManifest[]> {
  return new S3View(s3).manifests(syncedBucket, `${syncedPrefix}manifests/`);
}

// ── S3 reads ───────────────────────────────────────────────────────────────────────────────────────────

class S3View {
  private readonly s3: S3Client;
  private readonly payloadCache = new Map<string, Payload | null>();

  constructor(s3: S3Client) {
    this.s3 = s3;
  }

  async keys(bucket: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) out.push(o.Key!);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async text(bucket: string, key: string): Promise<string | null> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await res.Body!.transformToString('utf-8');
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async head(
    bucket: string,
    key: string,
  ): Promise<{ etag: string; metadata: Record<string, string> } | null> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: (res.ETag ?? '').replace(/"/g, ''), metadata: res.Metadata ?? {} };
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFound' || (err as { name?: string }).name === 'NoSuchKey')
        return null;
      throw err;
    }
  }

  async manifests(bucket: string, prefix: string): Promise<MManifest[]> {
    const out: MManifest[] = [];
    for (const key of await this.keys(bucket, prefix)) {
      const text = await this.text(bucket, key);
      if (text !== null) out.push(JSON.parse(text) as MManifest);
    }
    return out;
  }

  /** Payloads never change once written; cached per check. */
  async payload(bucket: string, key: string): Promise<Payload | null> {
    if (!this.payloadCache.has(key)) {
      const text = await this.text(bucket, key);
      this.payloadCache.set(key, text === null ? null : (JSON.parse(text) as Payload));
    }
    return this.payloadCache.get(key)!;
  }
}
