import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getJson, putJson } from '../shared/s3-json.ts';
import type { FieldDiff } from './compare.ts';
import { driftFolder } from '../contract/layout.ts';

/**
 * The drift report: s3://<synced>/<prefix>drift/<YYYY-MM-DDTHH-MM-SS-mmmZ>.json, one per drift check,
 * newest last in key order. It lists every item that is not in step with its class, the differing fields
 * and what was done about it, counts the items in step (and names them), and says how many Graph calls
 * the check spent. `catalog-sync status` shows the newest one.
 */

export type DriftClass =
  /** Meta holds what we last sent. */
  | 'in-step'
  /** Meta's values differ from what we sent and Meta accepted (an edit in Commerce Manager, a feed). */
  | 'stale'
  /** We sent it and Meta accepted it, but Meta does not have it (deleted out of band). */
  | 'missing'
  /** Meta has it; we never sent it. */
  | 'orphan'
  /** Could not be compared: what we sent is no longer stored, or the listing was incomplete. */
  | 'unverified'
  /** A send of it has no final status yet: compared next time. */
  | 'in-flight'
  /** Its last send was rejected by Meta or its fate is unknown (the manifest and errors/ say which). */
  | 'not-accepted';

export type DriftAction =
  | 'none'
  /** Sent again through the send gate in the repair manifest. */
  | 'resent'
  /** Would be sent again (dry run). */
  | 'would-resend'
  /** Beyond this hour's call budget (DRIFT_BUDGET_RESERVE kept for normal traffic): next check. */
  | 'deferred'
  /** The gate refused: newer data for the product was sent since the check read the state. */
  | 'superseded'
  /** Orphan, reported only (DRIFT_DELETE_ORPHANS is off). */
  | 'reported'
  /** Orphan that a later check deletes if it is still an orphan then (the dry run of its deletion). */
  | 'would-delete'
  /** Orphan deleted with an items_batch DELETE. */
  | 'deleted';

export interface DriftItem {
  id: string;
  class: Exclude<DriftClass, 'in-step'>;
  action: DriftAction;
  /** stale: the fields that differ. */
  fields?: FieldDiff[];
  /** Why (unverified, not-accepted, in-flight, deferred). */
  why?: string;
  /** Meta's FBID of the item, when Meta has it. */
  metaId?: string;
}

export interface DriftCounts {
  inStep: number;
  stale: number;
  missing: number;
  orphan: number;
  unverified: number;
  inFlight: number;
  notAccepted: number;
}

export interface DriftReport {
  schemaVersion: 1;
  kind: 'drift';
  catalogId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  /** The fields compared (items_batch names). */
  fields: string[];
  listing: { complete: boolean; pages: number; items: number; error?: string };
  counts: DriftCounts;
  /** Graph calls spent: listing pages, one-by-one look-ups, items_batch repairs and deletions. */
  calls: { reads: number; lookups: number; itemsBatch: number; deletes: number };
  /** The manifest that sends stale and missing items again (followed like any flush). */
  repairManifestKey: string | null;
  /** Every item not in step. */
  items: DriftItem[];
  /** The items in step, by retailer id. */
  inStep: string[];
  deletions: { handle: string | null; ids: string[] }[];
}

export async function writeDriftReport(
  loc: { s3: S3Client; bucket: string },
  key: string,
  report: DriftReport,
): Promise<void> {
  await putJson(loc.s3, loc.bucket, key, report);
}

/** The newest drift report, or null when none was written. */
export async function latestDriftReport(loc: {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
}): Promise<{ key: string; report: DriftReport } | null> {
  let last: string | undefined;
  let token: string | undefined;
  do {
    const res = await loc.s3.send(
      new ListObjectsV2Command({
        Bucket: loc.bucket,
        Prefix: driftFolder(loc.syncedPrefix),
        ContinuationToken: token,
      }),
    );
    for (const o of res.Contents ?? []) {
      if (o.Key?.endsWith('.json') && (last === undefined || o.Key > last)) last = o.Key;
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  if (last === undefined) return null;
  const got = await getJson<DriftReport>(loc.s3, loc.bucket, last);
  return got && got.value.kind === 'drift' ? { key: last, report: got.value } : null;
}
