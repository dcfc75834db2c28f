import { payloadKey, shardOf } from '../contract/layout.ts';
import { readBatchPayload } from '../contract/manifest.ts';
import type { ProductStateEntry, ProductStateShard } from '../contract/product-state.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { countProducts } from '../drift/state-scan.ts';
import { GuardrailHistory, type HistoryDoc } from '../guardrails/history-store.ts';
import { mapLimit } from '../shared/map-limit.ts';
import type { CatalogItem } from '../meta/types.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import { getJson } from '../shared/s3-json.ts';
import type { PlanSource } from './plan.ts';

/**
 * Where `plan` reads the product state from: the synced bucket itself (SYNCED_BUCKET), or an export
 * written by `catalog-sync state export` (a directory, or one .json file), so a producer's CI can plan a
 * file without AWS access to the synced bucket.
 *
 * The export: a header `catalog-sync-state.json` (kind, version, when, from where, how many products, the
 * guardrail history), the shards as stored (`state/<shard>.json`) and the item last sent for each product
 * that Meta accepted (`items/<shard>.json`, `{id: item}`). A single-file export holds the same under
 * `shards` and `items`.
 */

export const EXPORT_KIND = 'catalog-sync.state-export';
export const EXPORT_HEADER = 'catalog-sync-state.json';

export interface ExportHeader {
  kind: typeof EXPORT_KIND;
  version: 1;
  exportedAt: string;
  from: string;
  products: number;
  withItems: boolean;
  history: HistoryDoc | null;
}

export interface SingleFileExport extends ExportHeader {
  shards: Record<string, ProductStateShard>;
  items: Record<string, Record<string, CatalogItem>>;
}

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** The live state (its store, STATE_STORE) and the synced bucket's payloads and history, read only. */
export function liveSource(loc: {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  state: ProductStateStore;
  describe: string;
}): PlanSource {
  const store = loc.state;
  return {
    describe: loc.describe,
    async entries(ids) {
      const snapshot = await store.read(ids);
      const out = new Map<string, ProductStateEntry>();
      for (const id of ids) {
        const e = snapshot.get(id);
        if (e) out.set(id, e);
      }
      return out;
    },
    lastSent: (entries) => lastSentFromPayloads(loc, entries),
    async anchors() {
      const history = await new GuardrailHistory(loc).read();
      if (history) return anchorsOf(history.value);
      // Read only: count the state as the worker's first flush would, without writing the count.
      return { knownProducts: await countProducts(store), recentFileRows: [] };
    },
  };
}

export async function lastSentFromPayloads(
  loc: { s3: S3Client; bucket: string; syncedPrefix: string },
  entries: ReadonlyMap<string, ProductStateEntry>,
): Promise<Map<string, CatalogItem>> {
  const byPayload = new Map<string, Set<string>>();
  for (const [id, e] of entries) {
    const manifestId = e.manifestKey.slice(e.manifestKey.lastIndexOf('/') + 1).replace(/\.json$/, '');
    const key = payloadKey(loc.syncedPrefix, manifestId, e.batchIndex);
    const ids = byPayload.get(key) ?? new Set<string>();
    ids.add(id);
    byPayload.set(key, ids);
  }
  const out = new Map<string, CatalogItem>();
  await mapLimit([...byPayload], 8, async ([key, ids]) => {
    const stored = (await getJson<unknown>(loc.s3, loc.bucket, key))?.value;
    const payload = stored === undefined ? undefined : readBatchPayload(stored, key);
    for (const r of payload?.requests ?? []) {
      const data = r.data as CatalogItem;
      if (ids.has(data.id)) out.set(data.id, data);
    }
  });
  return out;
}

function anchorsOf(h: HistoryDoc | null): { knownProducts: number; recentFileRows: number[] } {
  return { knownProducts: h?.knownProducts ?? 0, recentFileRows: (h?.files ?? []).map((f) => f.rows) };
}

/** An export: a directory written by `state export`, or a single .json file. */
export function exportSource(path: string): PlanSource {
  if (!existsSync(path)) {
    throw new ExportError(
      `--state ${path} does not exist: write one with \`catalog-sync state export ${path}\``,
    );
  }
  const dir = statSync(path).isDirectory();
  const readJson = <T>(file: string): T | null => {
    if (!existsSync(file)) return null;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (err) {
      throw new ExportError(`${file} is not a state export (${(err as Error).message})`);
    }
  };
  const header = readJson<SingleFileExport>(dir ? join(path, EXPORT_HEADER) : path);
  if (!header || header.kind !== EXPORT_KIND || header.version !== 1) {
    throw new ExportError(
      `${path} is not a catalog-sync state export (no ${dir ? EXPORT_HEADER : 'header'} of kind ${EXPORT_KIND} v1): ` +
        `write one with \`catalog-sync state export ${path}\``,
    );
  }
  const shardCache = new Map<string, ProductStateShard | null>();
  const itemCache = new Map<string, Record<string, CatalogItem> | null>();
  const shard = (s: string) => {
    if (!shardCache.has(s)) {
      shardCache.set(
        s,
        dir ? readJson<ProductStateShard>(join(path, 'state', `${s}.json`)) : (header.shards?.[s] ?? null),
      );
    }
    return shardCache.get(s)!;
  };
  const items = (s: string) => {
    if (!itemCache.has(s)) {
      itemCache.set(
        s,
        dir
          ? readJson<Record<string, CatalogItem>>(join(path, 'items', `${s}.json`))
          : (header.items?.[s] ?? null),
      );
    }
    return itemCache.get(s)!;
  };
  return {
    describe: `export ${path} (exported ${header.exportedAt} from ${header.from})`,
    async entries(ids) {
      const out = new Map<string, ProductStateEntry>();
      for (const id of ids) {
        const e = shard(shardOf(id))?.products[id];
        if (e) out.set(id, e);
      }
      return out;
    },
    async lastSent(entries) {
      const out = new Map<string, CatalogItem>();
      for (const id of entries.keys()) {
        const item = items(shardOf(id))?.[id];
        if (item) out.set(id, item);
      }
      return out;
    },
    async anchors() {
      // The export counted the products exactly; the recent files come from the guardrail history.
      return { ...anchorsOf(header.history), knownProducts: header.products };
    },
  };
}
