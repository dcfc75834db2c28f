import type { Manifest } from '../../src/contract/manifest.ts';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createCatalogClient } from '../../src/meta/items-batch-client.ts';
import type { SimCall, Simulator, StoredProduct } from '../../tools/simulator/index.ts';
import type { CatalogClient } from '../../src/meta/types.ts';
import type { RowReader } from '../../src/worker/file-intake.ts';
import { composeWorker } from '../../src/worker/compose.ts';
import type { Worker } from '../../src/worker/worker.ts';
import { startSandbox, type TestStack } from '../support/sandbox-harness.ts';

/**
 * A worker against moto (buckets, queue and DLQ deployed from infra/storage.yml) and the catalog simulator
 * over real HTTP, with short timings. Every log line is kept, through the production logger (redaction
 * included), so tests can read stages and check for leaks.
 */

/** Not shaped like a Graph token, so only registration with the logger can hide it. */
export const TOKEN = `tok-${randomBytes(20).toString('hex')}`;
export const CATALOG = '9876543210';

export interface ProductRow {
  id: string;
  title?: string;
  description?: string;
  price?: string;
  availability?: string;
  brand?: string;
  link?: string;
  image_link?: string;
}

/** A CSV in the contract's columns; a bare id stands for a row with default values. */
export function csv(rows: (ProductRow | string)[]): string {
  const header = 'id,title,description,link,image_link,availability,price,brand';
  const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = rows.map((row) => {
    const r = typeof row === 'string' ? { id: row } : row;
    return [
      r.id,
      r.title ?? `Product ${r.id}`,
      r.description ?? `Description of product ${r.id}`,
      r.link ?? `https://shop.example/p/${r.id}`,
      r.image_link ?? `https://shop.example/img/${r.id}.jpg`,
      r.availability ?? 'in stock',
      r.price ?? '9.99',
      r.brand ?? 'Acme',
    ]
      .map(q)
      .join(',');
  });
  return `${[header, ...lines].join('\n')}\n`;
}

export function ids(from: number, to: number, prefix = 'SKU-'): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
}

/** Environment for the worker: what `catalog-sync worker` reads, with test timings. */
export function workerEnv(stack: TestStack, sim: Simulator, overrides: Record<string, string> = {}) {
  return {
    AWS_REGION: 'us-east-1',
    LANDING_BUCKET: stack.landingBucket,
    SYNCED_BUCKET: stack.syncedBucket,
    QUEUE_URL: stack.queueUrl,
    DLQ_URL: stack.dlqUrl,
    // The product state store: s3 by default; CATALOG_SYNC_TEST_STATE_STORE=dynamodb runs the worker
    // tests against the table the stack deploys.
    STATE_STORE: process.env.CATALOG_SYNC_TEST_STATE_STORE ?? 's3',
    STATE_TABLE: stack.outputs.StateTableArn ?? '',
    META_GRAPH_URL: sim.url,
    META_CATALOG_ID: CATALOG,
    META_ACCESS_TOKEN: TOKEN,
    CATALOG_CURRENCY: 'USD',
    DEBOUNCE_QUIET_MS: '600',
    DEBOUNCE_MAX_HOLD_MS: '10000',
    VISIBILITY_TIMEOUT_S: '6',
    SQS_WAIT_TIME_S: '1',
    SHUTDOWN_GRACE_MS: '5000',
    STATUS_POLL_INITIAL_MS: '100',
    STATUS_POLL_MAX_MS: '400',
    STATUS_POLL_DEADLINE_MS: '30000',
    FLUSH_RETRY_MAX_MS: '500',
    META_MAX_RETRIES: '2',
    LEASE_TTL_MS: '3000',
    UNSENT_SETTLE_MS: '2000',
    UNKNOWN_RETRY_BASE_MS: '200',
    AUTH_PROBE_INTERVAL_MS: '500',
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

/** Reads and writes a deployed test stack: landing uploads, queue depth, manifests and reports. */
export class StackView {
  readonly stack: TestStack;

  constructor(stack: TestStack) {
    this.stack = stack;
  }

  // ── landing bucket and queue ──

  async upload(key: string, body: string | Buffer): Promise<{ etag: string; at: number }> {
    const res = await this.stack.clients.s3.send(
      new PutObjectCommand({ Bucket: this.stack.landingBucket, Key: key, Body: body }),
    );
    return { etag: (res.ETag ?? '').replace(/"/g, ''), at: Date.now() };
  }

  async deleteObject(key: string): Promise<void> {
    await this.stack.clients.s3.send(new DeleteObjectCommand({ Bucket: this.stack.landingBucket, Key: key }));
  }

  async send(body: string, queueUrl = this.stack.queueUrl): Promise<void> {
    await this.stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  }

  /** Receives (and deletes) every visible message of a queue, with its attributes. */
  async receiveAll(queueUrl: string): Promise<Message[]> {
    const out: Message[] = [];
    for (;;) {
      const res = await this.stack.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      if (!res.Messages?.length) return out;
      for (const m of res.Messages) {
        out.push(m);
        await this.stack.clients.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }),
        );
      }
    }
  }

  /** Visible + in flight messages. */
  async depth(queueUrl = this.stack.queueUrl): Promise<number> {
    const res = await this.stack.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const a = res.Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  // ── synced bucket ──

  async keys(prefix: string, bucket = this.stack.syncedBucket): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.stack.clients.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) out.push(o.Key!);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async text(key: string, bucket = this.stack.syncedBucket): Promise<string> {
    const res = await this.stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return res.Body!.transformToString('utf-8');
  }

  async json<T>(key: string): Promise<T> {
    return JSON.parse(await this.text(key)) as T;
  }

  async manifests(): Promise<Manifest[]> {
    const keys = await this.keys('synced/manifests/');
    return Promise.all(keys.map((k) => this.json<Manifest>(k)));
  }

  /** Waits until `n` manifests exist and every one is final (finished, or abandoned). */
  async waitForFinishedManifests(n: number, timeoutMs = 30_000): Promise<Manifest[]> {
    let last: Manifest[] = [];
    await waitFor(
      `${n} finished manifests`,
      async () => {
        last = (await this.manifests()).filter((m) => m.state === 'finished');
        return last.length >= n;
      },
      { timeoutMs, intervalMs: 100 },
    );
    return last;
  }
}

export class Harness extends StackView {
  readonly sim: Simulator;
  readonly lines: string[] = [];
  readonly logger: Logger;
  worker: Worker | null = null;
  config: Config;
  client: CatalogClient | null = null;

  private constructor(stack: TestStack, sim: Simulator, config: Config) {
    super(stack);
    this.sim = sim;
    this.config = config;
    const stream = new PassThrough();
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l !== ''));
    });
    this.logger = createLogger({ level: 'debug', stream, defaultMeta: { component: 'worker' } });
  }

  static async create(
    label: string,
    env: Record<string, string> = {},
    simOptions: { processingDelayMs?: number } = {},
  ) {
    const { stack, sim } = await startSandbox(label, {
      accessToken: TOKEN,
      processingDelayMs: simOptions.processingDelayMs ?? 150,
    });
    const config = loadConfig(workerEnv(stack, sim, env));
    if (process.env.CATALOG_SYNC_TEST_STATE_STORE) {
      // The CLI commands a test spawns (plan, release, discard…) read the same store as this worker.
      process.env.STATE_STORE = config.stateStore;
      process.env.STATE_TABLE = config.stateTable ?? '';
    }
    return new Harness(stack, sim, config);
  }

  /** Starts the worker; `wrap` may put a fault in front of the real client (for paths the simulator lacks). */
  startWorker(
    readRows: RowReader = readProducts,
    wrap: (c: CatalogClient) => CatalogClient = (c) => c,
  ): Worker {
    this.client = this.catalogClient();
    this.worker = composeWorker({
      config: this.config,
      s3: this.stack.clients.s3,
      sqs: this.stack.clients.sqs,
      dynamodb: this.stack.clients.dynamodb,
      client: wrap(this.client),
      readRows,
      logger: this.logger,
    });
    this.worker.start();
    return this.worker;
  }

  /** The catalog client the worker gets: the config's settings, this harness's log, short retry waits. */
  catalogClient(): CatalogClient {
    const c = this.config;
    return createCatalogClient({
      graphUrl: c.graphUrl,
      apiVersion: c.apiVersion,
      catalogId: c.catalogId,
      accessToken: c.accessToken,
      hourlyCallBudget: c.hourlyCallBudget,
      maxRetries: c.maxRetries,
      requestTimeoutMs: c.requestTimeoutMs,
      maxPayloadBytes: c.maxPayloadBytes,
      batchMaxItems: c.batchMaxItems,
      logger: this.logger.child({ component: 'graph' }),
      retryBaseMs: 50,
      retryMaxDelayMs: 200,
      maxRetryWaitMs: 300,
    });
  }

  /** Prints the worker's log and the simulator's call log (for a failed test). */
  dump(): void {
    if (!process.env.WORKER_TEST_DUMP) return;
    console.log(this.lines.slice(-200).join('\n'));
    console.log(JSON.stringify(this.sim.calls().slice(-50)));
  }

  async close(): Promise<void> {
    await this.worker?.stop();
    await this.sim.stop();
  }

  // ── simulator ──

  products(): Map<string, StoredProduct> {
    return new Map(this.sim.products(CATALOG).map((p) => [p.id, p]));
  }

  itemsBatchCalls(): SimCall[] {
    return this.sim.calls().filter((c) => c.endpoint === 'items_batch');
  }

  /** Log lines (parsed) whose message matches. */
  logged(message: string | RegExp): Record<string, unknown>[] {
    return this.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => (typeof message === 'string' ? e.message === message : message.test(String(e.message))));
  }
}

/** An S3 event in the real shape (form-encoded key, Z time, quoted nothing), as AWS sends it. */
export function realS3Event(
  bucket: string,
  key: string,
  options: { etag?: string; eventTime?: string; sequencer?: string } = {},
): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: options.eventTime ?? new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'),
            size: 100,
            ...(options.etag ? { eTag: options.etag } : {}),
            sequencer: options.sequencer ?? '0055AED6DCD90281E5',
          },
        },
      },
    ],
  });
}

export function priceOf(p: StoredProduct | undefined): unknown {
  return p?.price;
}
