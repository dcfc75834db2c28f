import { shardOf } from '../contract/layout.ts';
import { emptyShard, type ProductStateEntry, type ProductStateShard } from '../contract/product-state.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuardrailHistory } from '../guardrails/history-store.ts';
import type { CatalogItem } from '../meta/types.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import {
  EXPORT_HEADER,
  EXPORT_KIND,
  lastSentFromPayloads,
  type ExportHeader,
  type SingleFileExport,
} from './state-source.ts';

/**
 * `catalog-sync state export <dir|file.json>`: the product state, the item last sent for every product
 * Meta accepted (read from the batch payloads, once per payload; payloads expire with the retention, so
 * older products have none) and the guardrail history, for `plan --state` offline. Read only.
 */

export interface ExportSummary {
  path: string;
  products: number;
  shards: number;
  items: number;
  /** Products Meta accepted whose last sent item is no longer stored (expired payloads). */
  itemsMissing: number;
}

export async function exportState(
  loc: { s3: S3Client; bucket: string; syncedPrefix: string; state: ProductStateStore; describe: string },
  path: string,
  options: { withItems: boolean; now: number },
): Promise<ExportSummary> {
  // The export keeps the shard layout whatever store the state lives in, so `plan` reads only its shards.
  const shards = new Map<string, ProductStateShard>();
  for await (const [id, entry] of loc.state.entries()) {
    const name = shardOf(id);
    const shard = shards.get(name) ?? emptyShard();
    shard.products[id] = entry;
    shards.set(name, shard);
  }
  const history = (await new GuardrailHistory(loc).read())?.value ?? null;
  const itemsByShard: Record<string, Record<string, CatalogItem>> = {};
  let products = 0;
  let items = 0;
  let itemsMissing = 0;
  for (const [name, shard] of shards) {
    products += Object.keys(shard.products).length;
    if (!options.withItems) continue;
    const accepted = new Map<string, ProductStateEntry>(
      Object.entries(shard.products).filter(([, e]) => e.contentHash !== '' && !e.open),
    );
    const sent = await lastSentFromPayloads(loc, accepted);
    itemsByShard[name] = Object.fromEntries(sent);
    items += sent.size;
    itemsMissing += accepted.size - sent.size;
  }
  const header: ExportHeader = {
    kind: EXPORT_KIND,
    version: 1,
    exportedAt: new Date(options.now).toISOString(),
    from: loc.describe,
    products,
    withItems: options.withItems,
    history,
  };
  if (path.toLowerCase().endsWith('.json')) {
    const doc: SingleFileExport = { ...header, shards: Object.fromEntries(shards), items: itemsByShard };
    writeFileSync(path, `${JSON.stringify(doc)}\n`);
  } else {
    mkdirSync(join(path, 'state'), { recursive: true });
    if (options.withItems) mkdirSync(join(path, 'items'), { recursive: true });
    for (const [name, shard] of shards) {
      writeFileSync(join(path, 'state', `${name}.json`), `${JSON.stringify(shard)}\n`);
      if (options.withItems)
        writeFileSync(join(path, 'items', `${name}.json`), `${JSON.stringify(itemsByShard[name] ?? {})}\n`);
    }
    writeFileSync(join(path, EXPORT_HEADER), `${JSON.stringify(header, null, 2)}\n`);
  }
  return { path, products, shards: shards.size, items, itemsMissing };
}
