/**
 * Where the guardrails get "what was sent last" (old price, old availability) from, measured:
 *
 *  A. two compact fields in the product state entry (`p`, `a`), written with every send decision;
 *  B. the last sent item read back from the batch payload each entry names (synced/batches/…).
 *
 * For A: the bytes each entry grows by, and what that does to the state of a 1M-product catalog (the
 * flush reads only the shards of its window's products; a drift check or an export reads them all).
 * For B: how many payloads a flush must read for a window of K changed products whose last sends are
 * spread over the retention (one batch per hour of 5,000 items), how many bytes that is, and what one
 * payload costs to parse.
 *
 *   node bench/last-values.ts            (prints a table; no AWS, no network)
 */
import { performance } from 'node:perf_hooks';

const rand = (() => {
  let s = 42;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
})();

function item(i: number): Record<string, string> {
  const words = (n: number) =>
    Array.from({ length: n }, () => 'lorem ipsum dolor sit amet'.split(' ')[Math.floor(rand() * 5)]).join(
      ' ',
    );
  return {
    id: `SKU-${i}`,
    title: `Product ${i} ${words(6)}`,
    description: words(40),
    link: `https://shop.example/p/${i}`,
    image_link: `https://cdn.shop.example/img/${i}.jpg`,
    availability: rand() < 0.9 ? 'in stock' : 'out of stock',
    condition: 'new',
    price: `${(1 + rand() * 200).toFixed(2)} USD`,
    brand: 'Acme',
  };
}

function entry(i: number, withValues: boolean): Record<string, unknown> {
  const it = item(i);
  return {
    contentHash: 'f'.repeat(32),
    sourceTime: 1764000000000 + i,
    sourceKey: 'landing/2026/11/25/products-export-17.csv',
    sequencer: '0055AED6DCD90281E5',
    manifestKey: `synced/manifests/2026-11-25T17/2026-11-25T17-mi5x8k2a-${(i % 65536).toString(16).padStart(8, '0')}.json`,
    batchIndex: i % 20,
    decidedAt: 1764000000000 + i,
    ...(withValues ? { lastPrice: it.price, lastAvailability: it.availability } : {}),
  };
}

const N = 20_000;
const bytes = (o: unknown) => Buffer.byteLength(JSON.stringify(o));
let plain = 0;
let withValues = 0;
for (let i = 0; i < N; i++) {
  const id = `"SKU-${i}":`;
  plain += bytes(entry(i, false)) + id.length + 1;
  withValues += bytes(entry(i, true)) + id.length + 1;
}
const perPlain = plain / N;
const perWith = withValues / N;

// B: a payload of 5,000 items, as the flush writes it.
const payload = {
  manifestId: 'x',
  batchIndex: 0,
  requests: Array.from({ length: 5000 }, (_, i) => ({ method: 'UPDATE', data: item(i) })),
  origins: Array.from({ length: 5000 }, (_, i) => ({
    id: `SKU-${i}`,
    key: 'landing/products.csv',
    line: i + 2,
  })),
};
const payloadText = JSON.stringify(payload);
const t0 = performance.now();
for (let i = 0; i < 5; i++) JSON.parse(payloadText);
const parseMs = (performance.now() - t0) / 5;

/** Distinct batches K products were last sent in, when last sends are spread uniformly over H hourly batches. */
function distinctBatches(k: number, hours: number): number {
  return Math.round(hours * (1 - (1 - 1 / hours) ** k));
}

const MB = 1024 * 1024;
console.log('A. compact fields in the state entry');
console.log(
  `  entry without last values: ${perPlain.toFixed(0)} bytes; with: ${perWith.toFixed(0)} bytes (+${(perWith - perPlain).toFixed(0)}, +${(((perWith - perPlain) / perPlain) * 100).toFixed(0)} %)`,
);
console.log(
  `  1M products: state ${((perPlain * 1e6) / MB).toFixed(0)} MB → ${((perWith * 1e6) / MB).toFixed(0)} MB; a flush of K products reads min(K, 256) shards either way: no extra request`,
);
console.log(
  'B. last sent item from the batch payloads (retention 30 days = 720 hourly batches of 5,000 items)',
);
console.log(`  one payload: ${(payloadText.length / MB).toFixed(1)} MB, JSON.parse ${parseMs.toFixed(0)} ms`);
for (const k of [100, 1000, 5000, 50_000]) {
  const d = distinctBatches(k, 720);
  console.log(
    `  window of ${String(k).padStart(6)} changed products: ~${String(d).padStart(3)} payload GETs, ~${((d * payloadText.length) / MB).toFixed(0).padStart(5)} MB read, ~${((d * parseMs) / 1000).toFixed(1)} s parsing, per flush`,
  );
}
console.log('  …and nothing at all for products last sent before the retention (payloads expired).');
