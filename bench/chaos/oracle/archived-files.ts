import type { Ledger } from '../ledger.ts';
import type { FileRef } from './manifest.ts';
import type { S3View } from './s3-view.ts';

/** An archived file, named by its landing key, or why the ledger does not account for it. */
export interface ArchivedFile extends FileRef {
  problem?: string;
}

/** (ii) The files the DAG archived: each archive/ object mapped back to its landing key and source ETag. */
export async function archivedFiles(
  store: S3View,
  where: { landingBucket: string; ledger: Ledger; landingPrefix: string; archivePrefix: string },
): Promise<ArchivedFile[]> {
  const { landingBucket, ledger, landingPrefix, archivePrefix } = where;
  const out: ArchivedFile[] = [];
  for (const archived of await store.keys(landingBucket, archivePrefix)) {
    const key = landingPrefix + archived.slice(archivePrefix.length);
    const head = await store.head(landingBucket, archived);
    const etag = head?.metadata['catalog-sync-source-etag'] ?? head?.etag ?? '';
    const u = ledger.byKey(key);
    if (!u) out.push({ key, etag, problem: `${archived}: archived file not in the ledger` });
    else if (u.etag !== etag) {
      out.push({ key, etag, problem: `${archived}: holds ETag ${etag}, the upload had ${u.etag}` });
    } else out.push({ key, etag });
  }
  return out;
}
