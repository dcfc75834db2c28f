import type { Ledger } from '../ledger.ts';
import {
  covers,
  DELIVERED,
  hasReason,
  isAnswered,
  isFirstSend,
  type FileRef,
  type MBatch,
  type MManifest,
  type Payload,
} from './manifest.ts';
import type { S3View } from './s3-view.ts';

/** Where a file's fate is read: the ledger of uploads, and the buckets of landing files and manifests. */
export interface FateSources {
  ledger: Ledger;
  landingBucket: string;
  syncedBucket: string;
}

/**
 * (ii) Known fates of one archived (or archivable) file: every item of it is accepted, rejected with a
 * reason, or superseded in the delivered manifests that cover it; those manifests have counts.unknown 0
 * and no batch still running or unsent; and every valid row of the file is sent or counted as skipped.
 */
export async function fileFateProblems(
  store: S3View,
  t: FateSources,
  f: FileRef,
  manifests: readonly MManifest[],
): Promise<string[]> {
  const out: string[] = [];
  const u = t.ledger.byKey(f.key);
  const covering = manifests.filter((m) => covers(m, t.landingBucket, f));
  const delivered = covering.filter((m) => DELIVERED.has(m.state));
  if (delivered.length === 0 && covering.some((m) => m.state === 'discarded')) return out;
  if (delivered.length === 0) {
    return [
      `${f.key}: archived, but no finished or archived manifest covers it (${covering.map((m) => m.state).join(', ') || 'none'})`,
    ];
  }
  for (const m of delivered) out.push(...(await manifestFateProblems(store, t.syncedBucket, f, m)));
  if (u) {
    const ids = new Set(u.rows.map((r) => r.id));
    const valid = Math.max(...delivered.map((m) => m.sources.find((s) => s.key === f.key)?.rows.valid ?? 0));
    if (valid < ids.size)
      out.push(`${f.key}: ${ids.size} rows uploaded, the manifests saw only ${valid} valid`);
  }
  return out;
}

/** The file's items as one delivered manifest records them. */
async function manifestFateProblems(
  store: S3View,
  syncedBucket: string,
  f: FileRef,
  m: MManifest,
): Promise<string[]> {
  const out: string[] = [];
  const tag = `${f.key} in ${m.manifestId} (${m.state})`;
  if (m.counts.unknown !== 0) out.push(`${tag}: counts.unknown is ${m.counts.unknown}`);
  const resent = new Set(m.batches.flatMap((b) => (isFirstSend(b) ? [] : [b.resubmitOf!])));
  for (const b of m.batches) {
    if (!resent.has(b.index) && (b.status === 'running' || b.status === 'unsent')) {
      out.push(`${tag}: batch ${b.index} is still ${b.status}`);
    }
  }
  // Every item of this file in a first send has a known fate somewhere in the manifest.
  const payloads = new Map<number, Payload | null>();
  for (const b of m.batches) payloads.set(b.index, await store.payload(syncedBucket, b.payloadKey));
  const fromFile = new Set<string>();
  for (const b of m.batches) {
    if (!isFirstSend(b)) continue;
    const p = payloads.get(b.index);
    if (!p) {
      out.push(`${tag}: payload ${b.payloadKey} of batch ${b.index} is missing`);
      continue;
    }
    for (const o of p.origins) if (o.key === f.key) fromFile.add(o.id);
  }
  const idsOf = (b: MBatch) => new Set((payloads.get(b.index)?.requests ?? []).map((r) => String(r.data.id)));
  for (const id of fromFile) {
    let fate: string | null = null;
    for (const b of m.batches) {
      const rejected = b.rejected?.find((r) => r.id === id);
      if (rejected && isAnswered(b)) {
        if (!hasReason(rejected)) out.push(`${tag}: ${id} rejected without a reason`);
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
  return out;
}
