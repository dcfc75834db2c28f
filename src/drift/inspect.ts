import { payloadKey } from '../contract/layout.ts';
import { readBatchPayload, type BatchPayload } from '../contract/manifest.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../logger.ts';
import { mapLimit } from '../shared/map-limit.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogClient, CatalogItem } from '../meta/types.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import { decideError } from '../worker/error-policy.ts';
import { getJson } from '../shared/s3-json.ts';
import { compareItem, readFieldsFor } from './compare.ts';
import type { DriftItem } from './report.ts';
import { readAllEntries } from './state-scan.ts';

/**
 * The first half of a drift check, which needs no lease and sends nothing: read the whole product state,
 * page through the catalog at Meta (GET /{catalog_id}/products with the fields we send, cursor paging),
 * read back what we last sent for each product (the payload of its entry's batch), and classify.
 *
 * Meta warns that paging this edge "is incomplete and can result in duplicate or missing products"
 * (https://developers.facebook.com/docs/marketing-api/reference/product-catalog/products/): duplicates are
 * merged by retailer id, and a product the listing did not show is looked up on its own (a `filter` on
 * its retailer id) before it is called missing, up to DRIFT_CONFIRM_MAX look-ups a check. A listing cut
 * short (a throttle beyond the client's waits, an outage) calls nothing missing: those products are
 * `unverified` until the next check.
 */

export interface InspectDeps {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  client: CatalogClient;
  /** The product state store (S3 shards or DynamoDB): read whole. */
  state: Pick<ProductStateStore, 'entries'>;
  logger: Logger;
  now: () => number;
  fields: readonly string[];
  pageSize: number;
  confirmMax: number;
}

export interface Findings {
  startedAt: number;
  listing: { complete: boolean; pages: number; items: number; error?: string };
  calls: { reads: number; lookups: number };
  /** The state as the check read it. */
  entries: Map<string, ProductStateEntry>;
  /** Everything not in step, classified (actions still `none`). */
  items: DriftItem[];
  inStep: string[];
  /** What we last sent, for the stale and missing items (to send again). */
  lastSent: Map<string, CatalogItem>;
}

/** Read the catalog back and classify every product. */
export async function inspectCatalog(deps: InspectDeps, signal: AbortSignal): Promise<Findings> {
  const startedAt = deps.now();
  const list = deps.client.listProducts?.bind(deps.client);
  if (!list) throw new Error('this catalog client cannot read the catalog back (no listProducts)');
  const entries = await readAllEntries(deps.state);
  const readFields = ['id', ...readFieldsFor(deps.fields)];

  // 1. Page through the catalog.
  const atMeta = new Map<string, Record<string, unknown>>();
  const listing: Findings['listing'] = { complete: false, pages: 0, items: 0 };
  const calls = { reads: 0, lookups: 0 };
  let after: string | null = null;
  try {
    do {
      signal.throwIfAborted();
      calls.reads++;
      const page = await list({ fields: readFields, limit: deps.pageSize, after, signal });
      listing.pages++;
      for (const item of page.items) {
        const rid = retailerId(item);
        if (rid !== null) atMeta.set(rid, item);
      }
      after = page.after;
    } while (after !== null);
    listing.complete = true;
  } catch (err) {
    listing.error = readFailure(err, signal).message;
    deps.logger.warn('drift check: the catalog listing was cut short; nothing is called missing this time', {
      err,
      pages: listing.pages,
    });
  }
  listing.items = atMeta.size;

  // 2. Products we sent and Meta accepted, that the listing did not show: look each one up.
  const notListed = [...entries]
    .filter(([id, e]) => !atMeta.has(id) && settled(e, startedAt) && e.contentHash !== '')
    .map(([id]) => id)
    .sort();
  const lookedUp = new Set<string>();
  let lookupError: string | null = null;
  if (listing.complete) {
    for (const id of notListed.slice(0, deps.confirmMax)) {
      signal.throwIfAborted();
      calls.lookups++;
      try {
        const page = await list({
          fields: readFields,
          limit: 1,
          filter: { retailer_id: { eq: id } },
          signal,
        });
        const found = page.items.find((i) => retailerId(i) === id);
        if (found) atMeta.set(id, found);
        lookedUp.add(id);
      } catch (err) {
        // A refused filter or a throttle: the rest stays unverified until the next check.
        lookupError = readFailure(err, signal).message;
        deps.logger.warn('drift check: a look-up failed; the products not listed stay unverified', {
          err,
          id,
        });
        break;
      }
    }
  }

  // 3. What we last sent, for every product that can be compared or sent again.
  const wanted = [...entries].filter(([, e]) => settled(e, startedAt) && e.contentHash !== '');
  const sent = await lastSentItems(deps, wanted);

  // 4. Classify.
  const items: DriftItem[] = [];
  const inStep: string[] = [];
  const lastSent = new Map<string, CatalogItem>();
  for (const [id, e] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const meta = atMeta.get(id);
    const metaId = typeof meta?.id === 'string' ? { metaId: meta.id } : {};
    if (!settled(e, startedAt)) {
      items.push({
        id,
        class: 'in-flight',
        action: 'none',
        why: `batch ${e.batchIndex} of ${e.manifestKey} has no final status yet`,
        ...metaId,
      });
      continue;
    }
    if (e.contentHash === '') {
      items.push({
        id,
        class: 'not-accepted',
        action: 'none',
        why: `its last send (${e.manifestKey} batch ${e.batchIndex}) was not accepted by Meta`,
        ...metaId,
      });
      continue;
    }
    const ours = sent.get(id);
    if (meta) {
      if (!ours) {
        items.push({
          id,
          class: 'unverified',
          action: 'none',
          why: `what was sent (${e.manifestKey} batch ${e.batchIndex}) is no longer stored`,
          ...metaId,
        });
        continue;
      }
      const fields = compareItem(ours, meta, deps.fields);
      if (fields.length === 0) inStep.push(id);
      else {
        items.push({ id, class: 'stale', action: 'none', fields, ...metaId });
        lastSent.set(id, ours);
      }
      continue;
    }
    if (!listing.complete) {
      items.push({ id, class: 'unverified', action: 'none', why: 'the catalog listing was cut short' });
    } else if (!lookedUp.has(id)) {
      items.push({
        id,
        class: 'unverified',
        action: 'none',
        why:
          lookupError === null
            ? `not in the listing, and past DRIFT_CONFIRM_MAX (${deps.confirmMax}) look-ups`
            : `not in the listing, and the look-ups failed: ${lookupError}`,
      });
    } else if (!ours) {
      items.push({
        id,
        class: 'unverified',
        action: 'none',
        why: `not at Meta, and what was sent (${e.manifestKey} batch ${e.batchIndex}) is no longer stored`,
      });
    } else {
      items.push({ id, class: 'missing', action: 'none' });
      lastSent.set(id, ours);
    }
  }
  for (const [id, meta] of [...atMeta].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (entries.has(id)) continue;
    items.push({
      id,
      class: 'orphan',
      action: 'none',
      ...(typeof meta.id === 'string' ? { metaId: meta.id } : {}),
    });
  }
  return { startedAt, listing, calls, entries, items, inStep, lastSent };
}

/** Decided and final: no open send, nothing that may still apply. */
function settled(e: ProductStateEntry, now: number): boolean {
  return !e.open && !(e.settleUntil !== undefined && e.settleUntil > now);
}

function retailerId(item: Record<string, unknown>): string | null {
  const v = item.retailer_id;
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

/** The item each entry's batch sent, read once per batch payload; absent when the payload is gone. */
async function lastSentItems(
  deps: Pick<InspectDeps, 's3' | 'bucket' | 'syncedPrefix' | 'logger'>,
  entries: [string, ProductStateEntry][],
): Promise<Map<string, CatalogItem>> {
  const byPayload = new Map<string, string[]>();
  for (const [id, e] of entries) {
    const manifestId = e.manifestKey.slice(e.manifestKey.lastIndexOf('/') + 1).replace(/\.json$/, '');
    const key = payloadKey(deps.syncedPrefix, manifestId, e.batchIndex);
    const list = byPayload.get(key) ?? [];
    list.push(id);
    byPayload.set(key, list);
  }
  const out = new Map<string, CatalogItem>();
  await mapLimit([...byPayload], 8, async ([key, ids]) => {
    let payload: BatchPayload | undefined;
    try {
      const stored = (await getJson<unknown>(deps.s3, deps.bucket, key))?.value;
      payload = stored === undefined ? undefined : readBatchPayload(stored, key);
    } catch (err) {
      deps.logger.warn('drift check: a batch payload could not be read; its items are unverified', {
        key,
        err,
      });
    }
    if (!payload) return;
    const wanted = new Set(ids);
    for (const r of payload.requests) {
      const data = r.data as CatalogItem;
      if (wanted.has(data.id)) out.set(data.id, data);
    }
  });
  return out;
}

/**
 * A failed read the check carries on past (a throttle, a refused filter: what it could not read stays
 * unverified), or the failure itself, thrown again: an interruption, refused credentials (the error
 * policy's halt, acted on by the worker), or anything not from Meta.
 */
function readFailure(err: unknown, signal: AbortSignal): GraphApiError {
  const decision = decideError(err, { aborted: signal.aborted });
  if (decision.kind === 'aborted' || decision.kind === 'halt' || !(err instanceof GraphApiError)) throw err;
  return err;
}
