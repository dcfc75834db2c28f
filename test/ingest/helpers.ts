import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { FileUnusableError, type IngestEvent, type IngestOptions } from '../../src/ingest/types.ts';

export const HEADER = 'id,title,description,link,image_link,availability,price,brand';

export function options(overrides: Partial<IngestOptions> = {}): IngestOptions {
  return {
    currency: 'USD',
    columnMap: {},
    defaultCondition: 'new',
    titleMaxLength: 150,
    descriptionMaxLength: 5000,
    ...overrides,
  };
}

/** A valid CSV record; override single cells by name. */
export function row(n: number, cells: Partial<Record<string, string>> = {}): string {
  const values: Record<string, string> = {
    id: `SKU-${n}`,
    title: `Mug ${n}`,
    description: 'Stoneware mug',
    link: `https://shop.example/p/${n}`,
    image_link: `https://cdn.shop.example/${n}.jpg`,
    availability: 'in stock',
    price: '9.99',
    brand: 'Acme',
    ...cells,
  };
  return HEADER.split(',')
    .map((k) => values[k])
    .join(',');
}

/** Bytes as a stream of chunks of `chunkSize` bytes (all at once by default). */
export function streamOf(content: string | Buffer, chunkSize?: number): Readable {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  if (chunkSize === undefined) return Readable.from([bytes]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

export type ReadOutcome = { events: IngestEvent[]; error: FileUnusableError | null };

/** Every event, and the FileUnusableError if the reader threw one (any other error fails the test). */
export async function readAll(
  content: string | Buffer | Readable,
  opts: IngestOptions = options(),
  chunkSize?: number,
): Promise<ReadOutcome> {
  const input = content instanceof Readable ? content : streamOf(content, chunkSize);
  const events: IngestEvent[] = [];
  try {
    for await (const event of readProducts(input, opts)) events.push(event);
  } catch (err) {
    if (err instanceof FileUnusableError) return { events, error: err };
    throw err;
  }
  return { events, error: null };
}

/** Events with `line` and a short summary, easy to compare in one assertion. */
export function summarise(events: IngestEvent[]): string[] {
  return events.map((e) =>
    e.kind === 'row' ? `${e.line} ok ${e.item.id}` : `${e.line} rejected ${e.id}: ${e.reason}`,
  );
}

const cli = path.join(repoRoot, 'bin', 'catalog-sync');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI with only the variables a fixture sets (the caller's COLUMN_MAP etc. must not leak in). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
