import { expect } from 'chai';
import type { SourceStamp } from '../../src/contract/product-state.ts';
import { createCatalogClient } from '../../src/meta/items-batch-client.ts';
import type { CatalogItem } from '../../src/meta/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { payloadBody } from '../../src/worker/flush-plan.ts';
import { payloadJson, updateBodyBytes } from '../../src/worker/payload-json.ts';
import type { IndexEntry, WindowSource } from '../../src/worker/window-buffer.ts';
import { windowSource } from '../support/window-source.ts';

/**
 * The flush splices payloads from spooled item JSON instead of parsing and serialising every item again.
 * The failure that would cause: a payload or a measured body that differs from what JSON.stringify gives
 * (a request Meta receives is not the one the manifest measured, a batch over the byte limit is not
 * split). Each case puts items of awkward shapes through both ways and compares the bytes.
 */
describe('payloads spliced from spooled JSON', () => {
  const stamp: SourceStamp = { sourceTime: 2000, sourceKey: 'landing/b.csv', sequencer: 'e2', etag: 'e2' };
  const sources: WindowSource[] = ['landing/a.csv', 'landing/ü "b".csv'].map((key) => windowSource(key));
  const items: CatalogItem[] = [
    { id: 'P1', title: 'plain', price: '9.99 USD' },
    { id: 'P2', title: 'quotes " and \\ backslash, tab\t, newline\n, nul \u0000', description: '' },
    { id: 'P3', title: 'ünïcødé 漢字 and an emoji 🛒', link: 'https://e.example/p?a=1&b=2' },
    { id: 'P4', title: 'lone surrogate \ud800 and \udfff', count: 3, ratio: 0.1 + 0.2, big: 1e21 },
    // Not a CatalogItem's shape, but what a drift repair's item read back from Meta may hold.
    { id: 'P5', nested: { a: [1, 'two', null, { deep: true }] }, __proto__x: 'x' } as unknown as CatalogItem,
    { '10': 'integer-like key', id: 'P6', '2': 'another' } as unknown as CatalogItem,
  ];
  /** What the spool holds for each item: JSON.stringify at intake. */
  const spooled = items.map((item) => JSON.stringify(item));
  const chunk: IndexEntry[] = spooled.map((json, i) => ({
    id: items[i]!.id,
    hash: `h${i}`,
    stamp: i === 3 ? { ...stamp, version: 42 } : stamp,
    line: i + 2,
    source: i % 2,
    n: i,
    at: 0,
    len: Buffer.byteLength(json),
    price: null,
    availability: null,
  }));
  const parsedBack = (): CatalogItem[] => spooled.map((json) => JSON.parse(json) as CatalogItem);

  it('the payload JSON is byte for byte JSON.stringify of payloadBody over the parsed items', () => {
    const spliced = payloadJson('m-1', 7, chunk, spooled, sources);
    expect(spliced).to.equal(JSON.stringify(payloadBody('m-1', 7, chunk, parsedBack(), sources)));
    expect(JSON.parse(spliced)).to.deep.equal(payloadBody('m-1', 7, chunk, items, sources));
  });

  it('the body size from spooled lengths is the client’s own body size, with and without an app secret', () => {
    for (const appSecret of [undefined, 'app-secret-for-test']) {
      const client = createCatalogClient({
        graphUrl: 'http://127.0.0.1:9',
        apiVersion: 'v26.0',
        catalogId: '1',
        accessToken: 'token-for-test',
        ...(appSecret ? { appSecret } : {}),
        hourlyCallBudget: 10,
        maxRetries: 0,
        requestTimeoutMs: 1000,
        maxPayloadBytes: 1_000_000,
        batchMaxItems: 5000,
        logger: silentLogger(),
      });
      const empty = client.payloadBytes([]);
      for (let n = 0; n <= chunk.length; n++) {
        expect(updateBodyBytes(chunk.slice(0, n), empty), `${n} items`).to.equal(
          client.payloadBytes(parsedBack().slice(0, n)),
        );
      }
    }
  });

  it('refuses item JSON that does not match the products it is for', () => {
    expect(() => payloadJson('m-1', 0, chunk, spooled.slice(1), sources)).to.throw(/5 items for 6 products/);
  });
});
