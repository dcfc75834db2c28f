import { parseStream } from 'fast-csv';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readProducts } from '../src/ingest/csv-reader.ts';
import { createCatalogClient } from '../src/meta/items-batch-client.ts';
import os from 'node:os';
import { silentLogger } from '../src/logger.ts';
import { writeBatches } from '../src/worker/flush-payloads.ts';
import { planEntryChunks } from '../src/worker/flush-plan.ts';
import { Spool } from '../src/worker/spool.ts';
import {
  emptyCounts,
  FileIndexBuilder,
  sourceStamp,
  WindowBuffer,
  type WindowSource,
} from '../src/worker/window-buffer.ts';

/**
 * One measurement in its own process, so peak RSS belongs to it alone:
 *   node bench/file-path.ts raw <file>        fast-csv parse only (the baseline)
 *   node bench/file-path.ts pipeline <file>   parse → validate → map → hash → spool + index → the
 *                                             flush's payloads, read back from the spool a chunk at a time
 * Prints one JSON line: { mode, rows, seconds, rowsPerSecond, peakRssMb, ... }.
 */

async function raw(file: string): Promise<Record<string, number>> {
  let rows = 0;
  await new Promise<void>((resolve, reject) => {
    parseStream(createReadStream(file), { headers: true })
      .on('data', () => rows++)
      .on('error', reject)
      .on('end', () => resolve());
  });
  return { rows };
}

async function pipeline(file: string): Promise<Record<string, number>> {
  const options = {
    currency: 'USD',
    columnMap: { gtin: 'gtin' },
    defaultCondition: 'new',
    titleMaxLength: 150,
    descriptionMaxLength: 5000,
  };
  const size = (await stat(file)).size;
  const source: WindowSource = {
    bucket: 'bench',
    key: 'landing/bench.csv',
    etag: 'e',
    versionId: null,
    sequencer: null,
    eventTime: Date.now(),
    size,
    fileError: null,
    errorReportKey: null,
    rows: emptyCounts(),
  };
  const spool = Spool.create(os.tmpdir());
  const collector = new FileIndexBuilder(spool, sourceStamp(source));
  for await (const ev of readProducts(createReadStream(file), options)) {
    if (ev.kind === 'row') collector.accept(ev.item, ev.line);
    else collector.reject();
  }
  const window = new WindowBuffer('2026-11-25T17:00:00Z');
  source.rows = collector.counts;
  window.addFile({ source, spool, entries: collector.entries });
  // The request bodies exactly as the client would send them (it measures with the same function).
  const client = createCatalogClient({
    graphUrl: 'http://127.0.0.1:9',
    apiVersion: 'v26.0',
    catalogId: '1',
    accessToken: 'bench-token-not-used',
    hourlyCallBudget: 200,
    maxRetries: 0,
    requestTimeoutMs: 1000,
    maxPayloadBytes: 28_000_000,
    batchMaxItems: 5000,
    logger: silentLogger(),
  });
  const chunks = planEntryChunks(
    [...window.candidates.values()],
    { batchMaxItems: 5000, maxPayloadBytes: 28_000_000 },
    client.payloadBytes([]),
  );
  // The flush's own payload writer, with a store that only counts what it is given.
  let payloadBytes = 0;
  const written = await writeBatches(
    {
      client,
      manifests: { writePayloadJson: async (_key, json) => void (payloadBytes += Buffer.byteLength(json)) },
      syncedPrefix: 'synced/',
      maxPayloadBytes: 28_000_000,
    },
    window,
    'bench-manifest',
    chunks,
  );
  window.dispose();
  return {
    rows: collector.counts.total,
    accepted: collector.counts.valid,
    rejected: collector.counts.rejected,
    distinct: window.size,
    chunks: written.batches.length,
    payloadMb: Math.round(payloadBytes / 1e5) / 10,
  };
}

const [mode, file] = process.argv.slice(2);
if ((mode !== 'raw' && mode !== 'pipeline') || !file) {
  console.error('usage: node bench/file-path.ts raw|pipeline <file.csv>');
  process.exit(2);
}
const t0 = process.hrtime.bigint();
const result = mode === 'raw' ? await raw(file) : await pipeline(file);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(
  `${JSON.stringify({ mode, ...result, seconds: Math.round(seconds * 1000) / 1000, rowsPerSecond: Math.round(result.rows! / seconds), peakRssMb })}\n`,
);
