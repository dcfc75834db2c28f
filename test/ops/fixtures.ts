import { shardKey, shardOf } from '../../src/contract/layout.ts';
import type { FinalBatch, Manifest, ManifestBatch, ManifestSource } from '../../src/contract/manifest.ts';
import { STATE_FORMAT, type ProductStateEntry } from '../../src/contract/product-state.ts';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MetaReport, RowsReport } from '../../src/contract/reports.ts';

/** Documents in the worker's storage layout, written straight into moto. */

export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
  );
}

export function source(
  key: string,
  rows: Partial<ManifestSource['rows']> = {},
  extra: Partial<ManifestSource> = {},
): ManifestSource {
  return {
    bucket: 'landing',
    key,
    etag: 'etag1',
    versionId: null,
    sequencer: null,
    eventTime: '2026-11-25T17:01:00Z',
    size: null,
    fileError: null,
    errorReportKey: null,
    rows: { total: 10, valid: 9, rejected: 1, unchanged: 0, older: 0, superseded: 0, ...rows },
    ...extra,
  };
}

/** A batch, finished unless `extra` says otherwise (the fields of other states are left as given). */
export function batch(
  index: number,
  extra: Partial<FinalBatch> | Partial<ManifestBatch> = {},
): ManifestBatch {
  return {
    index,
    itemCount: 3,
    payloadKey: `synced/batches/m/${index}.json`,
    handle: `h-${index}`,
    status: 'finished',
    attempts: 1,
    submittedAt: '2026-11-25T17:06:00Z',
    finishedAt: '2026-11-25T17:08:00Z',
    errorsTotal: 0,
    warningsTotal: 0,
    payloadBytes: null,
    resubmitOf: null,
    checkedAt: null,
    rejected: [],
    ...extra,
  } as ManifestBatch;
}

export function manifest(hour: string, manifestId: string, extra: Partial<Manifest> = {}): Manifest {
  return {
    schemaVersion: 1,
    manifestId,
    window: `${hour}:00:00Z`,
    state: 'finished',
    createdAt: `${hour}:05:00Z`,
    updatedAt: `${hour}:09:00Z`,
    submittedAt: `${hour}:06:00Z`,
    finishedAt: `${hour}:09:00Z`,
    archivedAt: null,
    catalogId: 'cat-1',
    sources: [source('landing/a.csv')],
    batches: [batch(0)],
    counts: { items: 3, accepted: 3, rejected: 0, unknown: 0, rowsRejected: 1, calls: 1 },
    errorReportKeys: [],
    ...extra,
  } as Manifest;
}

export function manifestKey(hour: string, id: string): string {
  return `synced/manifests/${hour}/${id}.json`;
}

export async function putManifest(s3: S3Client, bucket: string, hour: string, m: Manifest): Promise<string> {
  const key = manifestKey(hour, m.manifestId);
  await putJson(s3, bucket, key, m);
  return key;
}

/** Writes the shards holding these products (whole shards: only these products in them). */
export async function putStates(
  s3: S3Client,
  bucket: string,
  entries: Record<string, ProductStateEntry>,
): Promise<void> {
  const shards = new Map<string, Record<string, ProductStateEntry>>();
  for (const [id, entry] of Object.entries(entries)) {
    const products = shards.get(shardOf(id)) ?? {};
    products[id] = entry;
    shards.set(shardOf(id), products);
  }
  for (const [shard, products] of shards)
    await putJson(s3, bucket, shardKey('synced/', shard), { v: STATE_FORMAT, products });
}

export function stateEntry(
  manifestKey: string,
  b: number,
  at: string,
  s = 'landing/a.csv',
): ProductStateEntry {
  return {
    contentHash: 'hash',
    sourceTime: Date.parse(at) - 60_000,
    sourceKey: s,
    sequencer: null,
    manifestKey: manifestKey,
    batchIndex: b,
    decidedAt: Date.parse(at),
  };
}

export function rowsReport(key: string, createdAt: string, rejected: RowsReport['rejected']): RowsReport {
  return {
    schemaVersion: 1,
    kind: 'rows',
    source: { bucket: 'landing', key, etag: 'e1' },
    createdAt,
    counts: { total: 10, rejected: rejected.length },
    rejected,
  };
}

export function rowsReportKey(hour: string, landingKey: string): string {
  return `errors/rows/${hour}/${landingKey.replace(/\//g, '__')}.e1.json`;
}

export function metaReport(
  manifestId: string,
  createdAt: string,
  rejected: MetaReport['rejected'],
): MetaReport {
  return { schemaVersion: 1, kind: 'meta', manifestId, createdAt, rejected };
}
