import type { S3Client } from '@aws-sdk/client-s3';
import type { StoredProduct } from '../../../tools/simulator/index.ts';
import { valueOf, type Ledger } from '../ledger.ts';
import { hasReason, isAnswered, type MManifest } from './manifest.ts';
import { S3View } from './s3-view.ts';

/**
 * (i) Newest value held: the catalog holds the newest uploaded value of every product. A product whose
 * newest row Meta rejected (named, with a reason, in a manifest: `rejected`, from rejectedValues) is
 * excused: Meta did not apply it, and the pipeline reports it rather than retrying it. History (never
 * backwards) still applies to it.
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
      const named = (b.rejected ?? []).filter(hasReason);
      if (named.length === 0 || !isAnswered(b)) continue;
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
