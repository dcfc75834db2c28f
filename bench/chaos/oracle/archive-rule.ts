import type { Ledger } from '../ledger.ts';
import { covers, DELIVERED, OPEN, type FileRef, type MManifest } from './manifest.ts';

export type ArchiveVerdict = 'ready' | 'not-covered' | 'waiting' | 'never-delivered';

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

/**
 * The DAG's archive rule (dags/catalog_sync_reconcile/decisions.py, archive_verdict) at an anchor far
 * enough ahead that every pending manifest is stale: a pending manifest another delivered one took over
 * counts as abandoned.
 */
export function archiveVerdict(f: FileRef, manifests: readonly MManifest[], bucket: string): ArchiveVerdict {
  const covering = manifests.filter((m) => covers(m, bucket, f));
  if (covering.length === 0) return 'not-covered';
  const takenOver = covering.some((m) => DELIVERED.has(m.state));
  const states = covering.map((m) => (m.state === 'pending' && takenOver ? 'abandoned' : m.state));
  if (states.some((s) => OPEN.has(s))) return 'waiting';
  // An operator's discard is a final decision about a held window: its files may be archived.
  return states.some((s) => DELIVERED.has(s) || s === 'discarded') ? 'ready' : 'never-delivered';
}

/** A landing file's verdict; a file the ledger does not know is judged with an empty ETag. */
export interface LandingVerdict extends FileRef {
  inLedger: boolean;
  verdict: ArchiveVerdict;
}

export function landingVerdicts(
  landing: readonly string[],
  ledger: Ledger,
  manifests: readonly MManifest[],
  bucket: string,
): LandingVerdict[] {
  return landing.map((key) => {
    const u = ledger.byKey(key);
    const ref = { key, etag: u?.etag ?? '' };
    return { ...ref, inLedger: u !== undefined, verdict: archiveVerdict(ref, manifests, bucket) };
  });
}
