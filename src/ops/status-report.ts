import {
  manifestsFolder,
  metaReportKey,
  metaReportsFolder,
  rowReportsFolder,
  shardKey,
  shardOf,
} from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { OpsError } from './errors.ts';
import { hourOfKey } from '../shared/hours.ts';
import {
  manifestDetail,
  summarizeManifest,
  unreadableRow,
  type ManifestDetail,
  type ManifestRow,
} from './manifest-view.ts';
import { evidenceFor, productVerdict, type ProductEvidence, type ProductVerdict } from './product-trace.ts';
import type { MetaReport, RowReport } from '../contract/reports.ts';
import { parseManifest, parseMetaReport, parseRowsReport } from './records.ts';
import { mapLimit } from '../shared/map-limit.ts';
import { listKeys, readJson } from './synced-documents.ts';

/** The reads behind `status`: manifests, product state and error reports from the synced bucket. */

export interface StatusStore {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  errorsPrefix: string;
}

const PARALLEL = 8;

async function keysByHour(store: StatusStore, prefix: string, hours: readonly string[]): Promise<string[]> {
  const perHour = await mapLimit(hours, PARALLEL, (h) => listKeys(store.s3, store.bucket, `${prefix}${h}/`));
  return perHour.flat().filter((k) => k.endsWith('.json'));
}

/** One row per manifest in the given hours (newest hour first); unreadable ones are rows too. */
export async function readRecentManifests(
  store: StatusStore,
  hours: readonly string[],
): Promise<ManifestRow[]> {
  const keys = await keysByHour(store, manifestsFolder(store.syncedPrefix), hours);
  const rows = await mapLimit(keys, PARALLEL, async (key) => {
    const hour = hourOfKey(key) ?? '?';
    const read = await readJson(store.s3, store.bucket, key);
    if (!read.found) return null; // expired between list and read
    if ('error' in read) return unreadableRow(hour, key, read.error);
    const parsed = parseManifest(read.value);
    return parsed.ok ? summarizeManifest(hour, key, parsed.value) : unreadableRow(hour, key, parsed.error);
  });
  return rows
    .filter((r): r is ManifestRow => r !== null)
    .sort((a, b) => b.hour.localeCompare(a.hour) || (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
}

/** A manifest by key, or by id searched for in the given hours. */
export async function loadManifest(
  store: StatusStore,
  keyOrId: string,
  hours: readonly string[],
): Promise<{ key: string; manifest: Manifest }> {
  let key = keyOrId;
  if (!keyOrId.includes('/')) {
    const id = keyOrId.replace(/\.json$/, '');
    const keys = await keysByHour(store, manifestsFolder(store.syncedPrefix), hours);
    const found = keys.find((k) => k.endsWith(`/${id}.json`));
    if (!found)
      throw new OpsError(
        `no manifest with id ${id} in the last ${hours.length} hours: pass a larger --hours, or its key ` +
          `(${manifestsFolder(store.syncedPrefix)}<YYYY-MM-DDTHH>/${id}.json)`,
        { manifestId: id },
      );
    key = found;
  }
  const read = await readJson(store.s3, store.bucket, key);
  if (!read.found) throw new OpsError(`manifest s3://${store.bucket}/${key} does not exist`, { key });
  if ('error' in read)
    throw new OpsError(`manifest s3://${store.bucket}/${key} is unreadable: ${read.error}`, { key });
  const parsed = parseManifest(read.value);
  if (!parsed.ok)
    throw new OpsError(`manifest s3://${store.bucket}/${key} is not a manifest: ${parsed.error}`, { key });
  return { key, manifest: parsed.value };
}

export async function readManifestDetail(
  store: StatusStore,
  keyOrId: string,
  hours: readonly string[],
): Promise<ManifestDetail> {
  const { key, manifest } = await loadManifest(store, keyOrId, hours);
  // The manifest lists its reports; the window's folder is where a report written later would be.
  const candidates = new Set([
    ...(manifest.errorReportKeys ?? []).filter((k) => k.startsWith(metaReportsFolder(store.errorsPrefix))),
    metaReportKey(store.errorsPrefix, manifest),
  ]);
  const reports: MetaReport[] = [];
  for (const k of candidates) {
    const read = await readJson(store.s3, store.bucket, k);
    if (!read.found || 'error' in read) continue;
    const parsed = parseMetaReport(read.value);
    if (parsed.ok && parsed.value.manifestId === manifest.manifestId) reports.push(parsed.value);
  }
  return manifestDetail(key, manifest, reports);
}

export interface ReportSet {
  rows: { key: string; report: RowReport }[];
  meta: { key: string; report: MetaReport }[];
  unreadable: { key: string; error: string }[];
}

export async function readReports(store: StatusStore, hours: readonly string[]): Promise<ReportSet> {
  const out: ReportSet = { rows: [], meta: [], unreadable: [] };
  const read = async (key: string) => {
    const r = await readJson(store.s3, store.bucket, key);
    return { key, r };
  };
  const [rowKeys, metaKeys] = await Promise.all([
    keysByHour(store, rowReportsFolder(store.errorsPrefix), hours),
    keysByHour(store, metaReportsFolder(store.errorsPrefix), hours),
  ]);
  for (const { key, r } of await mapLimit(rowKeys, PARALLEL, read)) {
    if (!r.found) continue;
    const parsed = 'error' in r ? { ok: false as const, error: r.error } : parseRowsReport(r.value);
    if (parsed.ok) out.rows.push({ key, report: parsed.value });
    else out.unreadable.push({ key, error: parsed.error });
  }
  for (const { key, r } of await mapLimit(metaKeys, PARALLEL, read)) {
    if (!r.found) continue;
    const parsed = 'error' in r ? { ok: false as const, error: r.error } : parseMetaReport(r.value);
    if (parsed.ok) out.meta.push({ key, report: parsed.value });
    else out.unreadable.push({ key, error: parsed.error });
  }
  return out;
}

export interface ProductReport {
  productId: string;
  stateKey: string;
  state: ProductStateEntry | null;
  verdict: ProductVerdict;
  evidence: ProductEvidence;
  unreadableReports: { key: string; error: string }[];
}

export async function readProductReport(
  store: StatusStore,
  productId: string,
  hours: readonly string[],
): Promise<ProductReport> {
  const stateKey = shardKey(store.syncedPrefix, shardOf(productId));
  const shard = await readJson(store.s3, store.bucket, stateKey);
  if (shard.found && 'error' in shard)
    throw new OpsError(`product state shard s3://${store.bucket}/${stateKey} is unreadable: ${shard.error}`, {
      stateKey,
    });
  const products = shard.found
    ? (shard.value as { products?: Record<string, ProductStateEntry> }).products
    : undefined;
  const state = products?.[productId] ?? null;

  let manifest: Manifest | null = null;
  if (state) {
    try {
      manifest = (await loadManifest(store, state.manifestKey, hours)).manifest;
    } catch (err) {
      // The verdict says the manifest is gone (expired, or never written); other failures are real.
      if (!(err instanceof OpsError)) throw err;
    }
  }
  const reports = await readReports(store, hours);
  const evidence = evidenceFor(productId, reports.rows, reports.meta);
  return {
    productId,
    stateKey,
    state,
    verdict: productVerdict(productId, state, manifest, evidence, hours.length),
    evidence,
    unreadableReports: reports.unreadable,
  };
}
