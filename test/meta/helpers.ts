import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import type { Logger } from '../../src/logger.ts';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import { createCatalogClient, type CatalogClientOptions } from '../../src/meta/items-batch-client.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../tools/simulator/index.ts';
import type { CatalogClient, CatalogItem } from '../../src/meta/types.ts';

/** Not shaped like a Graph token (no EAA prefix), so only the client's own scrubbing can hide it. */
export const TOKEN = `test-token-${randomBytes(16).toString('hex')}`;
export const APP_SECRET = `app-secret-${randomBytes(16).toString('hex')}`;
export const CATALOG = '1234567890';
export const VERSION = 'v26.0';

/** A clock shared by client and simulator: sleeping advances it instantly and is recorded. */
export function fakeClock(start = Date.UTC(2026, 10, 25, 12)) {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
    advance: (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

/** A logger that keeps every line as raw text, with no redaction, so leaks show. */
export function capturingLogger(): { logger: Logger; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, text: () => text };
}

export function validItem(id: string, extra: Record<string, string | number | undefined> = {}): CatalogItem {
  return {
    id,
    title: `Product ${id}`,
    description: `Description of ${id}`,
    availability: 'in stock',
    condition: 'new',
    price: '9.99 USD',
    link: `https://shop.example/p/${id}`,
    image_link: `https://shop.example/p/${id}.jpg`,
    brand: 'Acme',
    ...extra,
  };
}

export async function withSim(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ accessToken: TOKEN, processingDelayMs: 0, ...options });
}

export function clientFor(sim: { url: string }, options: Partial<CatalogClientOptions> = {}): CatalogClient {
  return createCatalogClient({
    graphUrl: sim.url,
    apiVersion: VERSION,
    catalogId: CATALOG,
    accessToken: TOKEN,
    hourlyCallBudget: 200,
    maxRetries: 3,
    requestTimeoutMs: 5000,
    maxPayloadBytes: 28_000_000,
    batchMaxItems: 5000,
    logger: winston.createLogger({
      silent: true,
      transports: [new winston.transports.Console({ silent: true })],
    }),
    sleep: async () => {},
    random: () => 0.5,
    ...options,
  });
}

/** POST items_batch as raw HTTP, JSON body. */
export async function postBatch(
  sim: { url: string },
  body: Record<string, unknown>,
  { catalog = CATALOG, token = TOKEN }: { catalog?: string; token?: string | null } = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${sim.url}/${VERSION}/${catalog}/items_batch`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export const upserts = (items: Record<string, unknown>[]) => ({
  item_type: 'PRODUCT_ITEM',
  allow_upsert: true,
  requests: items.map((data) => ({ method: 'UPDATE', data })),
});

export async function getStatus(
  sim: { url: string },
  handle: string,
  extra: Record<string, string> = { load_ids_of_invalid_requests: 'true' },
  catalog = CATALOG,
): Promise<{
  status: number;
  json: Record<string, unknown>;
  node: Record<string, unknown>;
  headers: Headers;
}> {
  const q = new URLSearchParams({ handle, ...extra });
  const res = await fetch(`${sim.url}/${VERSION}/${catalog}/check_batch_request_status?${q}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const json = (await res.json()) as Record<string, unknown>;
  const node = ((json.data as unknown[] | undefined)?.[0] ?? {}) as Record<string, unknown>;
  return { status: res.status, json, node, headers: res.headers };
}

export const errorOf = (json: Record<string, unknown>) =>
  json.error as {
    code: number;
    error_subcode?: number;
    message: string;
    fbtrace_id: string;
    is_transient: boolean;
  };

/** Polls until `probe` returns a value, or fails after the deadline. Tests never sleep a fixed time. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  deadlineMs = 5000,
): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The GraphApiError a call rejects with; fails the test when it succeeds or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<GraphApiError> {
  try {
    await p;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(GraphApiError);
    return err as GraphApiError;
  }
  throw new Error('expected a GraphApiError, but the call succeeded');
}
