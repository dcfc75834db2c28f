import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * What was uploaded, in order: the oracle's idea of "newest". Every row carries a value from one global
 * counter (its price is `<value>.00`), so a later upload always carries a higher value for a product, and
 * a value names the upload it came from. Keys are `landing/<dir>/export-<n>.csv` with n growing: later
 * uploads have later keys in numeric-aware order (export-10 after export-9) and a later upload time, so
 * the pipeline's ordering rule (later file wins; same second: key, numeric-aware) agrees with the ledger.
 */

export const CSV_HEADER = 'id,title,description,link,image_link,availability,price,brand';

export interface LedgerRow {
  id: string;
  value: number;
}

export interface UploadRecord {
  /** 1-based upload number (the key's n). */
  n: number;
  key: string;
  /** Unquoted ETag. */
  etag: string;
  /** Wall-clock ms when PutObject returned, and the object's LastModified (ms, whole seconds). */
  uploadedAt: number;
  lastModified: number;
  rows: LedgerRow[];
  /** Its S3 event was kept from the queue on purpose (the DAG's straggler path must find it). */
  eventLost: boolean;
  /** Free-form label of when it happened (a chaos round, a matrix case). */
  round: number;
}

/** A price the CSV contract and Meta accept, encoding the value: 123 → "123.00" (the worker adds USD). */
export function priceText(value: number): string {
  return `${value}.00`;
}

/** The value back from a catalog or history price ("123.00 USD"), or null when it is not one of ours. */
export function valueOf(price: unknown): number | null {
  if (typeof price !== 'string') return null;
  const m = /^(\d+)\.00(?: [A-Z]{3})?$/.exec(price.trim());
  return m ? Number(m[1]) : null;
}

export function csvOf(rows: readonly LedgerRow[]): string {
  const lines = rows.map(
    ({ id, value }) =>
      `${id},Product ${id},About ${id},https://shop.example/p/${id},https://shop.example/i/${id}.jpg,in stock,${priceText(value)},Acme`,
  );
  return `${[CSV_HEADER, ...lines].join('\n')}\n`;
}

export class Ledger {
  readonly uploads: UploadRecord[] = [];
  readonly dir: string;
  private counter = 0;

  constructor(dir = 'chaos') {
    this.dir = dir;
  }

  /** The next value of the global counter. */
  nextValue(): number {
    return ++this.counter;
  }

  /** Rows for these ids, each with a fresh value (duplicates dropped, first kept). */
  rowsFor(ids: readonly string[]): LedgerRow[] {
    return [...new Set(ids)].map((id) => ({ id, value: this.nextValue() }));
  }

  nextKey(): string {
    return `landing/${this.dir}/export-${this.uploads.length + 1}.csv`;
  }

  /** PUTs the next file (key from nextKey) and records it. */
  async upload(
    s3: S3Client,
    bucket: string,
    rows: LedgerRow[],
    options: { round?: number; eventLost?: boolean } = {},
  ): Promise<UploadRecord> {
    const key = this.nextKey();
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: csvOf(rows) }));
    const uploadedAt = Date.now();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const record: UploadRecord = {
      n: this.uploads.length + 1,
      key,
      etag: (put.ETag ?? head.ETag ?? '').replace(/"/g, ''),
      uploadedAt,
      lastModified: head.LastModified?.getTime() ?? uploadedAt,
      rows,
      eventLost: options.eventLost ?? false,
      round: options.round ?? 0,
    };
    this.uploads.push(record);
    return record;
  }

  byKey(key: string): UploadRecord | undefined {
    return this.uploads.find((u) => u.key === key);
  }

  /** Newest value of every product: the row of the last upload that carries it. */
  expected(): Map<string, { value: number; key: string }> {
    const out = new Map<string, { value: number; key: string }>();
    for (const u of this.uploads) for (const r of u.rows) out.set(r.id, { value: r.value, key: u.key });
    return out;
  }

  /** Which upload a value came from (values are unique over the run). */
  originOf(value: number): { key: string; id: string } | undefined {
    for (const u of this.uploads) {
      const row = u.rows.find((r) => r.value === value);
      if (row) return { key: u.key, id: row.id };
    }
    return undefined;
  }
}
