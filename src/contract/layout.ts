import { createHash } from 'node:crypto';

/**
 * Every S3 key catalog-sync reads or writes, built in one place. The patterns are in
 * schemas/storage-layout.json, which the DAG builds its keys from too; test/contract/layout.test.ts checks
 * that each function here produces keys its pattern matches. Each function takes the configured prefix its
 * pattern starts with (a prefix ends with '/', or is empty), so call sites pass what they already hold.
 */

/** Folder name of a window (or of any moment's hour) in the layout: `2026-11-25T17`. */
function hourOf(windowOrIso: string): string {
  return windowOrIso.slice(0, 13);
}

export const SHARD_COUNT = 256;

/** The product state shard a retailer id belongs to: two hex digits. */
export function shardOf(id: string): string {
  const n = createHash('sha256').update(id).digest().readUInt16BE(0) % SHARD_COUNT;
  return n.toString(16).padStart(2, '0');
}

// ── landing bucket ──

/** Where a landing file goes when it is archived: same relative key under the archive prefix. */
export function archivedFileKey(landingPrefix: string, archivePrefix: string, landingKey: string): string {
  const relative = landingKey.startsWith(landingPrefix) ? landingKey.slice(landingPrefix.length) : landingKey;
  return `${archivePrefix}${relative}`;
}

// ── synced bucket: the worker's records ──

export function manifestsFolder(syncedPrefix: string): string {
  return `${syncedPrefix}manifests/`;
}

/** The manifests of one window (`window` is the window's start, or an `YYYY-MM-DDTHH` hour). */
export function manifestFolder(syncedPrefix: string, window: string): string {
  return `${manifestsFolder(syncedPrefix)}${hourOf(window)}/`;
}

export function manifestKey(syncedPrefix: string, window: string, manifestId: string): string {
  return `${manifestFolder(syncedPrefix, window)}${manifestId}.json`;
}

export function payloadKey(syncedPrefix: string, manifestId: string, index: number): string {
  return `${syncedPrefix}batches/${manifestId}/${index}.json`;
}

export function stateFolder(syncedPrefix: string): string {
  return `${syncedPrefix}state/`;
}

export function shardKey(syncedPrefix: string, shard: string): string {
  return `${stateFolder(syncedPrefix)}${shard}.json`;
}

/** The shard name of a key under stateFolder, or null for anything else found there. */
export function shardOfKey(key: string): string | null {
  return /\/([0-9a-f]{2})\.json$/.exec(key)?.[1] ?? null;
}

export function leaseKey(syncedPrefix: string, catalogId: string): string {
  return `${syncedPrefix}leases/${catalogId}.json`;
}

export function guardrailHistoryKey(syncedPrefix: string): string {
  return `${syncedPrefix}guardrails/history.json`;
}

export function driftFolder(syncedPrefix: string): string {
  return `${syncedPrefix}drift/`;
}

/** A drift report, named for when its check started so names sort in time. */
export function driftReportKey(syncedPrefix: string, at: number): string {
  return `${driftFolder(syncedPrefix)}${new Date(at).toISOString().replace(/:/g, '-').replace('.', '-')}.json`;
}

/** The claims of one dead-letter queue, named by the last part of its URL. */
export function redriveClaimsFolder(syncedPrefix: string, dlqUrl: string): string {
  const name = dlqUrl.replace(/\/+$/, '').split('/').pop() ?? 'dlq';
  return `${syncedPrefix}redrive-claims/${name}/`;
}

export function redriveClaimKey(claimsFolder: string, messageId: string): string {
  return `${claimsFolder}${encodeURIComponent(messageId)}.json`;
}

// ── synced bucket: the DAG's sweep markers (written by the DAG; here for tools and tests) ──

export type SweepMarkerKind = 'straggler' | 'recheck' | 'drift';

export function sweepMarkersFolder(syncedPrefix: string, kind: SweepMarkerKind): string {
  return `${syncedPrefix}sweep/${kind}/`;
}

// ── error reports ──

/** An ETag as it appears in keys and reports: no weak marker, no quotes. */
export function cleanEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** ERRORS_PREFIX with its trailing slash (configuration may omit it). */
function errorsRoot(errorsPrefix: string): string {
  return errorsPrefix === '' || errorsPrefix.endsWith('/') ? errorsPrefix : `${errorsPrefix}/`;
}

export function rowReportsFolder(errorsPrefix: string): string {
  return `${errorsRoot(errorsPrefix)}rows/`;
}

/**
 * One key per file version and hour: a redelivery reported in the same hour overwrites its own report
 * instead of adding a second one.
 */
export function rowReportKey(errorsPrefix: string, landingKey: string, etag: string, at: Date): string {
  const flat = landingKey.replaceAll('/', '__');
  return `${rowReportsFolder(errorsPrefix)}${hourOf(at.toISOString())}/${flat}.${cleanEtag(etag)}.json`;
}

export function metaReportsFolder(errorsPrefix: string): string {
  return `${errorsRoot(errorsPrefix)}meta/`;
}

export function metaReportKey(
  errorsPrefix: string,
  manifest: { window: string; manifestId: string },
): string {
  return `${metaReportsFolder(errorsPrefix)}${hourOf(manifest.window)}/${manifest.manifestId}.json`;
}

export function unknownReportsFolder(errorsPrefix: string): string {
  return `${errorsRoot(errorsPrefix)}unknown/`;
}

export function unknownReportKey(
  errorsPrefix: string,
  manifest: { window: string; manifestId: string },
): string {
  return `${unknownReportsFolder(errorsPrefix)}${hourOf(manifest.window)}/${manifest.manifestId}.json`;
}
