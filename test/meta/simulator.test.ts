import { expect } from 'chai';
import { appsecretProof } from '../../src/meta/appsecret-proof.ts';
import { parseBucUsage } from '../../src/meta/usage-header.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import {
  APP_SECRET,
  CATALOG,
  TOKEN,
  VERSION,
  errorOf,
  fakeClock,
  getStatus,
  pollUntil,
  postBatch,
  upserts,
  validItem,
  withSim,
} from './helpers.ts';

const REQUESTS = JSON.stringify([{ method: 'UPDATE', data: validItem('ENC-1') }]);

describe('meta simulator', () => {
  let sim: Simulator;
  const clock = fakeClock();

  before(async () => {
    sim = await withSim({ now: clock.now, processingDelayMs: 1000, errorSampleSize: 20 });
  });
  beforeEach(() => sim.reset());
  after(() => sim.stop());

  /** Sends one batch, steps the clock past processing, returns the handle and the status node. */
  async function runBatch(body: Record<string, unknown>) {
    const res = await postBatch(sim, body);
    expect(res.status, JSON.stringify(res.json)).to.equal(200);
    const handle = (res.json.handles as string[])[0]!;
    clock.advance(1000);
    const { node } = await getStatus(sim, handle);
    return { res, handle, node };
  }

  describe('encodings', () => {
    const url = () => `${sim.url}/${VERSION}/${CATALOG}/items_batch`;
    const accepted = async (res: Response, encoding: string) => {
      const json = (await res.json()) as { handles: string[] };
      expect(res.status, JSON.stringify(json)).to.equal(200);
      expect(json.handles).to.have.length(1);
      expect(sim.calls().at(-1)).to.include({ encoding, itemCount: 1, outcome: 'ok' });
      clock.advance(1000);
      expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['ENC-1']);
    };

    it('JSON body with requests as a real array (WooCommerce)', async () => {
      const res = await fetch(url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ item_type: 'PRODUCT_ITEM', requests: JSON.parse(REQUESTS) }),
      });
      await accepted(res, 'json');
    });

    it('JSON body with requests as JSON text', async () => {
      const res = await fetch(url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ item_type: 'PRODUCT_ITEM', requests: REQUESTS }),
      });
      await accepted(res, 'json');
    });

    it('form-urlencoded with JSON-encoded values and access_token as a parameter (Python SDK)', async () => {
      const res = await fetch(url(), {
        method: 'POST',
        body: new URLSearchParams({ item_type: 'PRODUCT_ITEM', requests: REQUESTS, access_token: TOKEN }),
      });
      await accepted(res, 'form');
    });

    it("multipart fields (Meta's curl -F sample)", async () => {
      const form = new FormData();
      form.set('item_type', 'PRODUCT_ITEM');
      form.set('requests', REQUESTS);
      form.set('access_token', TOKEN);
      await accepted(await fetch(url(), { method: 'POST', body: form }), 'multipart');
    });

    it('multipart with requests as a file part (curl -F requests=@batch.json)', async () => {
      const form = new FormData();
      form.set('item_type', 'PRODUCT_ITEM');
      form.set('requests', new Blob([REQUESTS], { type: 'application/json' }), 'batch.json');
      const res = await fetch(url(), {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await accepted(res, 'multipart');
    });

    it('query string only', async () => {
      const q = new URLSearchParams({ item_type: 'PRODUCT_ITEM', requests: REQUESTS, access_token: TOKEN });
      await accepted(await fetch(`${url()}?${q}`, { method: 'POST' }), 'query');
    });

    it('without a version in the path, as Graph allows', async () => {
      const res = await fetch(`${sim.url}/${CATALOG}/items_batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ item_type: 'PRODUCT_ITEM', requests: REQUESTS }),
      });
      await accepted(res, 'json');
    });

    it('refuses a malformed JSON body with 100', async () => {
      const res = await fetch(url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: '{"item_type":',
      });
      expect(res.status).to.equal(400);
      expect(errorOf((await res.json()) as Record<string, unknown>).code).to.equal(100);
    });
  });

  describe('call-level validation', () => {
    const code = async (body: Record<string, unknown>) => {
      const res = await postBatch(sim, body);
      expect(res.status).to.be.greaterThanOrEqual(400);
      return errorOf(res.json);
    };

    it('requires item_type and accepts only known values', async () => {
      expect((await code({ requests: [] })).code).to.equal(100);
      expect((await code({ item_type: 'SHOES', requests: REQUESTS })).message).to.match(/item_type/);
      expect((await code({ item_type: 'HOTEL', requests: REQUESTS })).code).to.equal(100);
    });

    it('requires requests, as a non-empty JSON array', async () => {
      expect((await code({ item_type: 'PRODUCT_ITEM' })).message).to.match(/requests is required/);
      expect((await code({ item_type: 'PRODUCT_ITEM', requests: '[{' })).code).to.equal(100);
      expect((await code({ item_type: 'PRODUCT_ITEM', requests: { a: 1 } })).code).to.equal(100);
      expect((await code({ item_type: 'PRODUCT_ITEM', requests: [] })).code).to.equal(100);
    });

    it('refuses more than 5,000 requests with 100', async () => {
      const requests = Array.from({ length: 5001 }, (_, i) => ({ method: 'DELETE', data: { id: `D${i}` } }));
      const err = await code({ item_type: 'PRODUCT_ITEM', requests });
      expect(err.code).to.equal(100);
      expect(err.message).to.match(/5000/);
      expect(sim.calls().at(-1)).to.include({ itemCount: 5001, outcome: 'error', errorCode: 100 });
    });

    it('refuses a method outside CREATE/UPDATE/DELETE and data that is not an object', async () => {
      const bad = { item_type: 'PRODUCT_ITEM', requests: [{ method: 'UPSERT', data: validItem('A') }] };
      expect((await code(bad)).message).to.match(/method/);
      const noData = { item_type: 'PRODUCT_ITEM', requests: [{ method: 'UPDATE', data: 'A' }] };
      expect((await code(noData)).code).to.equal(100);
    });

    it('answers code 1 (reduce the amount of data) to a body over the limit', async () => {
      const small = await withSim({ maxBodyBytes: 2000 });
      try {
        const items = Array.from({ length: 20 }, (_, i) => validItem(`BIG-${i}`));
        const res = await postBatch(small, upserts(items));
        expect(errorOf(res.json).code).to.equal(1);
        expect(errorOf(res.json).message).to.match(/reduce the amount of data/);
        expect(small.calls()[0]).to.include({ outcome: 'error', errorCode: 1 });
        expect(small.calls()[0]!.bytes).to.be.greaterThan(2000);
        expect(small.products(CATALOG)).to.have.length(0);
      } finally {
        await small.stop();
      }
    });

    it('refuses GET on items_batch and unknown edges', async () => {
      const res = await fetch(`${sim.url}/${VERSION}/${CATALOG}/items_batch`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(errorOf((await res.json()) as Record<string, unknown>).code).to.equal(100);
      const other = await fetch(`${sim.url}/${VERSION}/${CATALOG}/nope`);
      expect(errorOf((await other.json()) as Record<string, unknown>).code).to.equal(2500);
    });
  });

  describe('auth', () => {
    it('answers 104 without a token and 190 for a wrong one', async () => {
      const none = await postBatch(sim, upserts([validItem('A')]), { token: null });
      expect(errorOf(none.json).code).to.equal(104);
      const wrong = await postBatch(sim, upserts([validItem('A')]), { token: 'not-the-token' });
      expect(errorOf(wrong.json)).to.include({ code: 190 });
      expect(errorOf(wrong.json).fbtrace_id).to.be.a('string');
    });

    it('checks appsecret_proof when an app secret is configured', async () => {
      const strict = await withSim({ appSecret: APP_SECRET });
      try {
        const body = upserts([validItem('A')]);
        expect(errorOf((await postBatch(strict, body)).json).message).to.match(/require an appsecret_proof/);
        const wrong = await postBatch(strict, { ...body, appsecret_proof: 'abc' });
        expect(errorOf(wrong.json)).to.include({ code: 100 });
        expect(errorOf(wrong.json).message).to.match(/Invalid appsecret_proof/);
        const ok = await postBatch(strict, { ...body, appsecret_proof: appsecretProof(TOKEN, APP_SECRET) });
        expect(ok.status).to.equal(200);
      } finally {
        await strict.stop();
      }
    });

    it('knows only the configured catalogs when given a list', async () => {
      const scoped = await withSim({ catalogIds: ['111'] });
      try {
        const res = await postBatch(scoped, upserts([validItem('A')]), { catalog: '222' });
        expect(errorOf(res.json)).to.include({ code: 100, error_subcode: 33 });
        expect((await postBatch(scoped, upserts([validItem('A')]), { catalog: '111' })).status).to.equal(200);
      } finally {
        await scoped.stop();
      }
    });
  });

  describe('row validation', () => {
    /** First-pass errors of one item sent as UPDATE. */
    async function rowErrors(data: Record<string, unknown>, method = 'UPDATE') {
      const res = await postBatch(sim, { item_type: 'PRODUCT_ITEM', requests: [{ method, data }] });
      expect(res.status).to.equal(200);
      const vs = res.json.validation_status as { retailer_id: string; errors: { message: string }[] }[];
      return vs.flatMap((v) => v.errors.map((e) => e.message));
    }

    it('accepts a complete item without issues', async () => {
      expect(await rowErrors(validItem('OK-1'))).to.deep.equal([]);
    });

    it('requires an id of at most 100 characters', async () => {
      expect((await rowErrors({ ...validItem('X'), id: '' }))[0]).to.match(/"id"/);
      expect((await rowErrors({ ...validItem('X'), id: undefined }))[0]).to.match(/"id"/);
      expect((await rowErrors(validItem('x'.repeat(101))))[0]).to.match(/longer than 100/);
      expect(await rowErrors(validItem('x'.repeat(100)))).to.deep.equal([]);
    });

    for (const price of ['9.99', '9,99 USD', 'USD 9.99', '9.99 usd', '$9.99', '9.99  USD']) {
      it(`rejects price ${JSON.stringify(price)}`, async () => {
        expect((await rowErrors(validItem('P', { price })))[0]).to.match(/Invalid price/);
      });
    }
    it('accepts "14 GBP" and rejects a numeric price (legacy minor units)', async () => {
      expect(await rowErrors(validItem('P', { price: '14 GBP' }))).to.deep.equal([]);
      expect((await rowErrors(validItem('P', { price: 999 })))[0]).to.match(/must be a string/);
      expect((await rowErrors(validItem('P', { sale_price: '5' })))[0]).to.match(/sale_price/);
    });

    it('accepts only known availability and condition values (spaces, not underscores)', async () => {
      expect((await rowErrors(validItem('A', { availability: 'in_stock' })))[0]).to.match(/availability/);
      expect((await rowErrors(validItem('A', { condition: 'mint' })))[0]).to.match(/condition/);
      for (const availability of ['in stock', 'out of stock', 'available for order', 'discontinued']) {
        expect(await rowErrors(validItem('A', { availability }))).to.deep.equal([]);
      }
      for (const condition of ['new', 'refurbished', 'used']) {
        expect(await rowErrors(validItem('A', { condition }))).to.deep.equal([]);
      }
    });

    it('requires http(s) URLs in link and image_link', async () => {
      expect((await rowErrors(validItem('U', { link: 'shop.example/p' })))[0]).to.match(/"link"/);
      expect((await rowErrors(validItem('U', { link: 'ftp://shop.example/p' })))[0]).to.match(/"link"/);
      expect((await rowErrors(validItem('U', { image_link: 'not a url' })))[0]).to.match(/image_link/);
      expect(
        (await rowErrors(validItem('U', { additional_image_link: 'https://a/x.jpg,nope' })))[0],
      ).to.match(/additional_image_link/);
    });

    it('limits title (150) and description (5,000), and other field lengths', async () => {
      expect((await rowErrors(validItem('L', { title: 't'.repeat(151) })))[0]).to.match(/title.*150/);
      expect(await rowErrors(validItem('L', { title: 't'.repeat(150) }))).to.deep.equal([]);
      expect((await rowErrors(validItem('L', { description: 'd'.repeat(5001) })))[0]).to.match(/description/);
      expect((await rowErrors(validItem('L', { gtin: '1'.repeat(71) })))[0]).to.match(/gtin/);
    });

    it('requires every required field on CREATE, at first pass', async () => {
      const errors = await rowErrors({ id: 'C1', title: 'Only a title' }, 'CREATE');
      expect(errors[0]).to.match(
        /Missing required.*description.*availability.*condition.*price.*link.*brand.*image/,
      );
    });

    it('does not let an empty string clear a required field, and checks quantity', async () => {
      expect((await rowErrors({ id: 'E1', price: '' }))[0]).to.match(/price.*cannot be empty/);
      expect((await rowErrors(validItem('Q', { quantity_to_sell_on_facebook: -1 })))[0]).to.match(/quantity/);
      expect(await rowErrors(validItem('Q', { quantity_to_sell_on_facebook: 3 }))).to.deep.equal([]);
    });

    it('reports unknown fields as warnings only, and does not store them', async () => {
      const { res, node } = await runBatch(upserts([validItem('W1', { shoe_size: '42' })]));
      const vs = res.json.validation_status as {
        retailer_id: string;
        errors: unknown[];
        warnings: { message: string }[];
      }[];
      expect(vs).to.have.length(1);
      expect(vs[0]!.retailer_id).to.equal('W1');
      expect(vs[0]!.errors).to.deep.equal([]);
      expect(vs[0]!.warnings[0]!.message).to.match(/Unrecognised field.*shoe_size/);
      expect(node).to.include({ status: 'finished', errors_total_count: 0, warnings_total_count: 1 });
      const stored = sim.products(CATALOG);
      expect(stored.map((p) => p.id)).to.deep.equal(['W1']);
      expect(stored[0]).to.not.have.property('shoe_size');
    });

    it('returns no handle when nothing was ingested', async () => {
      const res = await postBatch(
        sim,
        upserts([
          { id: 'N1', price: 'free' },
          { id: '', title: 'x' },
        ]),
      );
      expect(res.json.handles).to.deep.equal([]);
      expect(res.json.validation_status).to.have.length(2);
    });
  });

  describe('processing', () => {
    it('moves dispatched → started → finished on the clock, then stores', async () => {
      const res = await postBatch(sim, upserts([validItem('S1')]));
      const handle = (res.json.handles as string[])[0]!;
      expect((await getStatus(sim, handle)).node.status).to.equal('dispatched');
      expect(sim.products(CATALOG)).to.have.length(0);
      clock.advance(500);
      expect((await getStatus(sim, handle)).node.status).to.equal('started');
      clock.advance(500);
      const { json, node } = await getStatus(sim, handle);
      expect(json.data).to.have.length(1);
      expect(node).to.deep.equal({
        handle,
        status: 'finished',
        errors: [],
        errors_total_count: 0,
        warnings: [],
        warnings_total_count: 0,
        ids_of_invalid_requests: [],
      });
      expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['S1']);
    });

    it('a batch with 3 bad items of 10 ends finished with 7 stored, 3 errors and all 3 ids', async () => {
      const items = Array.from({ length: 10 }, (_, i) => validItem(`SKU-${i}`));
      items[2]!.price = '12,50 EUR';
      items[5]!.availability = 'maybe';
      items[8]!.link = 'not-a-url';
      const { node } = await runBatch(upserts(items));
      expect(node.status).to.equal('finished');
      expect(node.errors_total_count).to.equal(3);
      expect(node.ids_of_invalid_requests).to.have.members(['SKU-2', 'SKU-5', 'SKU-8']);
      expect(node.errors).to.have.length(3);
      expect((node.errors as { line: number; id: string }[]).map((e) => [e.line, e.id])).to.deep.equal([
        [2, 'SKU-2'],
        [5, 'SKU-5'],
        [8, 'SKU-8'],
      ]);
      const stored = sim.products(CATALOG).map((p) => p.id);
      expect(stored).to.have.length(7);
      expect(stored).to.not.include.members(['SKU-2', 'SKU-5', 'SKU-8']);
    });

    it('finishes on its own after processingDelayMs on the real clock (polled with a deadline)', async () => {
      const live = await withSim({ processingDelayMs: 30 });
      try {
        const items = Array.from({ length: 10 }, (_, i) => validItem(`R-${i}`, i < 3 ? { price: 'x' } : {}));
        const res = await postBatch(live, upserts(items));
        const handle = (res.json.handles as string[])[0]!;
        const node = await pollUntil('finished', async () => {
          const s = await getStatus(live, handle);
          return s.node.status === 'finished' ? s.node : undefined;
        });
        expect(node.errors_total_count).to.equal(3);
        expect(node.ids_of_invalid_requests).to.have.members(['R-0', 'R-1', 'R-2']);
        expect(live.products(CATALOG)).to.have.length(7);
      } finally {
        await live.stop();
      }
    });

    it('keeps errors a capped sample while the count and the ids stay complete', async () => {
      const capped = await withSim({ errorSampleSize: 2 });
      try {
        const items = Array.from({ length: 6 }, (_, i) =>
          validItem(`C-${i}`, i % 2 ? { condition: 'x' } : {}),
        );
        const res = await postBatch(capped, upserts(items));
        const { node } = await getStatus(capped, (res.json.handles as string[])[0]!);
        expect(node.errors).to.have.length(2);
        expect(node.errors_total_count).to.equal(3);
        expect(node.ids_of_invalid_requests).to.have.members(['C-1', 'C-3', 'C-5']);
      } finally {
        await capped.stop();
      }
    });

    it('lists invalid ids only with load_ids_of_invalid_requests=true, and honours fields', async () => {
      const { handle } = await runBatch(upserts([validItem('I0'), validItem('I1', { price: '1' })]));
      const without = await getStatus(sim, handle, {});
      expect(without.node.errors_total_count).to.equal(1);
      expect(without.node.ids_of_invalid_requests).to.deep.equal([]);
      const some = await getStatus(sim, handle, { fields: 'status,errors_total_count' });
      expect(some.node).to.deep.equal({ status: 'finished', errors_total_count: 1 });
    });

    it('counts line from 1 when configured (open question on line base)', async () => {
      const one = await withSim({ lineBase: 1 });
      try {
        const res = await postBatch(one, upserts([validItem('A'), validItem('B', { price: '1' })]));
        const { node } = await getStatus(one, (res.json.handles as string[])[0]!);
        expect((node.errors as { line: number }[])[0]!.line).to.equal(2);
      } finally {
        await one.stop();
      }
    });

    it('merges an UPDATE into an existing item; "" clears an optional field; null changes nothing', async () => {
      await runBatch(upserts([validItem('M1', { color: 'red', size: 'L' })]));
      const { node } = await runBatch(upserts([{ id: 'M1', price: '5.00 USD', color: '', size: null }]));
      expect(node.errors_total_count).to.equal(0);
      const [p] = sim.products(CATALOG);
      expect(p).to.include({ id: 'M1', price: '5.00 USD', size: 'L', title: 'Product M1' });
      expect(p).to.not.have.property('color');
    });

    it('fails, at processing, an UPDATE that would insert an incomplete item', async () => {
      const res = await postBatch(sim, upserts([{ id: 'NEW-1', price: '5.00 USD' }]));
      expect(res.json.validation_status).to.deep.equal([]); // first pass is fine
      clock.advance(1000);
      const { node } = await getStatus(sim, (res.json.handles as string[])[0]!);
      expect(node.errors_total_count).to.equal(1);
      expect((node.errors as { message: string }[])[0]!.message).to.match(/Missing required/);
      expect(sim.products(CATALOG)).to.have.length(0);
    });

    it('does not insert unknown ids when allow_upsert=false; DELETE removes', async () => {
      const { node } = await runBatch({ ...upserts([validItem('U1')]), allow_upsert: 'false' });
      expect(node.ids_of_invalid_requests).to.deep.equal(['U1']);
      await runBatch(upserts([validItem('U1'), validItem('U2')]));
      await runBatch({ item_type: 'PRODUCT_ITEM', requests: [{ method: 'DELETE', data: { id: 'U1' } }] });
      expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['U2']);
    });

    it('answers 100 for a missing or unknown handle', async () => {
      const missing = await fetch(`${sim.url}/${VERSION}/${CATALOG}/check_batch_request_status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(errorOf((await missing.json()) as Record<string, unknown>).code).to.equal(100);
      const unknown = await getStatus(sim, 'AcNoSuchHandle');
      expect(errorOf(unknown.json).code).to.equal(100);
    });

    it('shows the catalog at /products as JSON (FBID in id, SKU in retailer_id) and as a table', async () => {
      await runBatch(upserts([validItem('T1'), validItem('T2')]));
      const res = await fetch(`${sim.url}/${VERSION}/${CATALOG}/products`);
      const json = (await res.json()) as { data: { id: string; retailer_id: string }[]; summary: unknown };
      expect(json.summary).to.deep.equal({ total_count: 2 });
      expect(json.data.map((p) => p.retailer_id)).to.deep.equal(['T1', 'T2']);
      expect(json.data[0]!.id).to.match(/^\d+$/);
      const table = await (await fetch(`${sim.url}/${VERSION}/${CATALOG}/products?format=table`)).text();
      expect(table)
        .to.match(/2 products/)
        .and.match(/T1\s+Product T1\s+9\.99 USD/);
    });
  });

  describe('budgets', () => {
    it('refuses items_batch with 80014 past the hourly budget, with the usage header, until the hour rolls', async () => {
      const c = fakeClock();
      const small = await withSim({ hourlyCallBudget: 3, now: c.now });
      try {
        const pcts: number[] = [];
        for (let i = 0; i < 3; i++) {
          const ok = await postBatch(small, upserts([validItem(`B${i}`)]));
          expect(ok.status).to.equal(200);
          pcts.push(parseBucUsage(ok.headers.get('x-business-use-case-usage'))!.pct);
          c.advance(60_000);
        }
        expect(pcts).to.deep.equal([34, 67, 100]);
        const refused = await postBatch(small, upserts([validItem('B3')]));
        expect(errorOf(refused.json).code).to.equal(80014);
        const usage = parseBucUsage(refused.headers.get('x-business-use-case-usage'))!;
        expect(usage.entries[0]).to.include({ key: CATALOG, type: 'catalog_batch', callCount: 100 });
        expect(usage.etaMinutes).to.equal(57); // the first call leaves the window at 60 min; now is 3 min
        c.advance(57 * 60_000);
        expect((await postBatch(small, upserts([validItem('B3')]))).status).to.equal(200);
      } finally {
        await small.stop();
      }
    });

    it('refuses status reads with 80009 past the status-read budget', async () => {
      const small = await withSim({ statusReadBudget: 2 });
      try {
        const res = await postBatch(small, upserts([validItem('S')]));
        const handle = (res.json.handles as string[])[0]!;
        expect((await getStatus(small, handle)).status).to.equal(200);
        expect((await getStatus(small, handle)).status).to.equal(200);
        const third = await getStatus(small, handle);
        expect(errorOf(third.json).code).to.equal(80009);
        expect(parseBucUsage(third.headers.get('x-business-use-case-usage'))!.entries[0]!.type).to.equal(
          'catalog_management',
        );
      } finally {
        await small.stop();
      }
    });
  });

  describe('faults', () => {
    it('throttle: 80014 with the usage header and the ETA asked for, `times` times', async () => {
      sim.setFaults({ throttle: { etaMinutes: 3, times: 1 } });
      const first = await postBatch(sim, upserts([validItem('F')]));
      expect(errorOf(first.json)).to.include({ code: 80014, is_transient: true });
      expect(parseBucUsage(first.headers.get('x-business-use-case-usage'))).to.include({
        pct: 100,
        etaMinutes: 3,
      });
      expect((await postBatch(sim, upserts([validItem('F')]))).status).to.equal(200);
    });

    it('statusThrottle: 80009 on status reads', async () => {
      const res = await postBatch(sim, upserts([validItem('F')]));
      sim.setFaults({ statusThrottle: true });
      const status = await getStatus(sim, (res.json.handles as string[])[0]!);
      expect(errorOf(status.json).code).to.equal(80009);
    });

    it('serverErrorRate and code2Rate follow a seeded PRNG: the same seed fails the same calls', async () => {
      const run = async () => {
        sim.reset();
        sim.setFaults({ serverErrorRate: 0.3, code2Rate: 0.3, seed: 42 });
        const statuses: string[] = [];
        for (let i = 0; i < 20; i++) {
          const res = await fetch(`${sim.url}/${VERSION}/${CATALOG}/items_batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify(upserts([validItem(`R${i}`)])),
          });
          const text = await res.text();
          statuses.push(
            res.status === 503 && text.startsWith('<html') ? '5xx' : res.status === 503 ? 'code2' : 'ok',
          );
          if (statuses.at(-1) === 'code2') expect(JSON.parse(text).error.code).to.equal(2);
        }
        return statuses;
      };
      const a = await run();
      const b = await run();
      expect(a).to.deep.equal(b);
      expect(a).to.include.members(['5xx', 'code2', 'ok']);
    });

    it('latencyMs slows responses down', async () => {
      sim.setFaults({ latencyMs: 80 });
      const t0 = Date.now();
      await postBatch(sim, upserts([validItem('L')]));
      expect(Date.now() - t0).to.be.greaterThanOrEqual(75);
    });

    it('invalidToken: 190 with subcode 463 even with the right token', async () => {
      sim.setFaults({ invalidToken: true });
      const res = await postBatch(sim, upserts([validItem('T')]));
      expect(errorOf(res.json)).to.include({ code: 190, error_subcode: 463 });
    });

    it('rejectIdPattern: matching items fail during processing, not in the first pass', async () => {
      sim.setFaults({ rejectIdPattern: '^BAD-' });
      const items = [validItem('BAD-1'), validItem('OK-1'), validItem('BAD-2')];
      const { res, node } = await runBatch(upserts(items));
      expect(res.json.validation_status).to.deep.equal([]);
      expect(node).to.include({ status: 'finished', errors_total_count: 2 });
      expect(node.ids_of_invalid_requests).to.deep.equal(['BAD-1', 'BAD-2']);
      expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['OK-1']);
    });

    it('batchErrorRate: the batch ends with status error and applies nothing', async () => {
      sim.setFaults({ batchErrorRate: 1 });
      const { node } = await runBatch(upserts([validItem('E1')]));
      expect(node.status).to.equal('error');
      expect(sim.products(CATALOG)).to.have.length(0);
    });

    it('injected errors: per endpoint, a given number of times', async () => {
      sim.setFaults({ errors: [{ code: 613, times: 2, endpoint: 'items_batch' }] });
      expect(errorOf((await postBatch(sim, upserts([validItem('I')]))).json).code).to.equal(613);
      expect(errorOf((await postBatch(sim, upserts([validItem('I')]))).json).code).to.equal(613);
      expect((await postBatch(sim, upserts([validItem('I')]))).status).to.equal(200);
      expect(sim.faults().errors![0]!.times).to.equal(0);
    });
  });

  describe('admin API', () => {
    it('reads, replaces, merges and validates faults', async () => {
      const admin = `${sim.url}/_admin/faults`;
      let res = await fetch(admin, { method: 'POST', body: JSON.stringify({ code2Rate: 0.5, seed: 3 }) });
      expect(await res.json()).to.deep.equal({ code2Rate: 0.5, seed: 3 });
      res = await fetch(admin, { method: 'PATCH', body: JSON.stringify({ latencyMs: 5 }) });
      expect(await res.json()).to.deep.equal({ code2Rate: 0.5, seed: 3, latencyMs: 5 });
      expect(await (await fetch(admin)).json()).to.deep.equal(sim.faults());
      res = await fetch(admin, { method: 'POST', body: JSON.stringify({ code2Rate: 2 }) });
      expect(res.status).to.equal(400);
      res = await fetch(admin, { method: 'POST', body: JSON.stringify({ nonsense: true }) });
      expect(res.status).to.equal(400);
      res = await fetch(admin, { method: 'POST', body: '{' });
      expect(res.status).to.equal(400);
    });

    it('logs every Graph call (method, path, items, bytes, outcome) and resets', async () => {
      const body = upserts([validItem('A'), validItem('B')]);
      await postBatch(sim, body);
      await postBatch(sim, body, { token: 'wrong' });
      const { calls } = (await (await fetch(`${sim.url}/_admin/calls?endpoint=items_batch`)).json()) as {
        calls: Record<string, unknown>[];
      };
      expect(calls).to.have.length(2);
      expect(calls[0]).to.include({
        method: 'POST',
        path: `/${VERSION}/${CATALOG}/items_batch`,
        endpoint: 'items_batch',
        catalogId: CATALOG,
        itemCount: 2,
        bytes: Buffer.byteLength(JSON.stringify(body)),
        httpStatus: 200,
        outcome: 'ok',
      });
      expect(calls[0]!.time).to.be.a('string');
      expect(calls[1]).to.include({ outcome: 'error', errorCode: 190, itemCount: 2 });
      const batches = (await (await fetch(`${sim.url}/_admin/batches`)).json()) as { batches: unknown[] };
      expect(batches.batches).to.have.length(1);

      sim.setFaults({ latencyMs: 1 });
      expect((await fetch(`${sim.url}/_admin/reset`, { method: 'POST' })).status).to.equal(200);
      expect(sim.calls()).to.deep.equal([]);
      expect(sim.faults()).to.deep.equal({});
      expect(
        ((await (await fetch(`${sim.url}/_admin/batches`)).json()) as { batches: unknown[] }).batches,
      ).to.deep.equal([]);
    });

    it('puts start-up faults back on reset', async () => {
      const faulty = await withSim({ faults: { rejectIdPattern: 'X' } });
      try {
        faulty.setFaults({});
        faulty.reset();
        expect(faulty.faults()).to.deep.equal({ rejectIdPattern: 'X' });
      } finally {
        await faulty.stop();
      }
    });
  });
});
