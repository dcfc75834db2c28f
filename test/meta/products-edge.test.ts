import { expect } from 'chai';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import { CATALOG, TOKEN, VERSION, clientFor, postBatch, upserts, validItem, withSim } from './helpers.ts';

/**
 * Reading a catalog back: the simulator's Graph products edge (fields under Meta's read names, cursor
 * paging, filter, the read budget), the client's listProducts/deleteItems, and the out-of-band admin edits.
 */
describe('simulator: the products edge, read back as the Graph API answers', function () {
  this.timeout(30_000);
  let sim: Simulator;

  afterEach(async () => {
    await sim?.stop();
  });

  async function seed(n: number): Promise<void> {
    const items = Array.from({ length: n }, (_, i) => validItem(`SKU-${String(i).padStart(3, '0')}`));
    const res = await postBatch(sim, upserts(items));
    expect(res.status).to.equal(200);
  }

  async function admin(method: string, path: string, body?: unknown) {
    const res = await fetch(`${sim.url}/_admin/products/${CATALOG}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('pages through every item with cursors, under the read names, and ends without paging.next', async () => {
    sim = await withSim();
    await seed(7);
    const client = clientFor(sim);
    const seen: Record<string, unknown>[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await client.listProducts!({
        fields: ['retailer_id', 'name', 'price', 'currency', 'url', 'image_url', 'availability'],
        limit: 3,
        after,
      });
      pages++;
      seen.push(...page.items);
      after = page.after;
    } while (after !== null);
    expect(pages).to.equal(3);
    expect(seen.map((i) => i.retailer_id)).to.deep.equal(Array.from({ length: 7 }, (_, i) => `SKU-00${i}`));
    expect(seen[0]).to.include({
      retailer_id: 'SKU-000',
      name: 'Product SKU-000',
      price: '$9.99',
      currency: 'USD',
      url: 'https://shop.example/p/SKU-000',
      image_url: 'https://shop.example/p/SKU-000.jpg',
      availability: 'in stock',
    });
    expect(seen[0]!.id).to.match(/^\d{16,}$/);
    expect(seen[0]).to.not.have.property('title');
  });

  it('answers as Meta does: id only by default, 100 for an unknown field, a filter rule, summary', async () => {
    sim = await withSim();
    await seed(3);
    const get = async (q: Record<string, string>) => {
      const res = await fetch(`${sim.url}/${VERSION}/${CATALOG}/products?${new URLSearchParams(q)}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const plain = await get({});
    expect((plain.json.data as Record<string, unknown>[])[0]).to.have.all.keys('id');
    expect(plain.json).to.not.have.nested.property('paging.next');
    const bad = await get({ fields: 'retailer_id,title' });
    expect(bad.status).to.equal(400);
    expect(bad.json).to.have.nested.property('error.code', 100);
    expect((bad.json.error as { message: string }).message).to.include('nonexisting field (title)');
    const one = await get({
      fields: '["retailer_id","name"]',
      filter: JSON.stringify({ retailer_id: { eq: 'SKU-001' } }),
      summary: 'true',
    });
    expect(one.json.data).to.deep.equal([
      { retailer_id: 'SKU-001', name: 'Product SKU-001', id: (one.json.data as { id: string }[])[0]!.id },
    ]);
    expect(one.json.summary).to.deep.equal({ total_count: 1 });
    // Without a token, /products stays the open view for people: every stored field, no paging.
    const open = (await (await fetch(`${sim.url}/${VERSION}/${CATALOG}/products`)).json()) as {
      data: Record<string, unknown>[];
    };
    expect(open.data).to.have.length(3);
    expect(open.data[0]).to.include({ title: 'Product SKU-000', price: '9.99 USD' });
  });

  it('a cursor keeps its place after its item is deleted out of band', async () => {
    sim = await withSim();
    await seed(4);
    const client = clientFor(sim);
    const first = await client.listProducts!({ fields: ['retailer_id'], limit: 2 });
    expect(first.items.map((i) => i.retailer_id)).to.deep.equal(['SKU-000', 'SKU-001']);
    expect((await admin('DELETE', '/SKU-001')).status).to.equal(200);
    const second = await client.listProducts!({ fields: ['retailer_id'], limit: 2, after: first.after });
    expect(second.items.map((i) => i.retailer_id)).to.deep.equal(['SKU-002', 'SKU-003']);
    expect(second.after).to.equal(null);
  });

  it('reads spend the read budget: past it Meta answers 80009, which the client reports as throttled', async () => {
    sim = await withSim({ statusReadBudget: 2 });
    await seed(1);
    const client = clientFor(sim, { maxRetries: 0 });
    await client.listProducts!({ fields: ['retailer_id'], limit: 10 });
    await client.listProducts!({ fields: ['retailer_id'], limit: 10 });
    const err = await client.listProducts!({ fields: ['retailer_id'], limit: 10 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(GraphApiError);
    expect(err).to.include({ kind: 'throttled', code: 80009 });
    expect(
      sim
        .calls()
        .filter((c) => c.endpoint === 'products')
        .map((c) => c.httpStatus),
    ).to.deep.equal([200, 200, 400]);
  });

  it('edits, deletes and adds items out of band, as a person in Commerce Manager would', async () => {
    sim = await withSim();
    await seed(2);
    const edited = await admin('PATCH', '/SKU-000', { price: '1.00 USD', title: 'Edited' });
    expect(edited.status).to.equal(200);
    expect(edited.json.item).to.include({ price: '1.00 USD', title: 'Edited', brand: 'Acme' });
    expect((await admin('DELETE', '/SKU-001')).status).to.equal(200);
    const added = await admin('POST', '', validItem('ORPHAN-1'));
    expect(added.status).to.equal(200);
    expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['SKU-000', 'ORPHAN-1']);
    expect((await admin('PATCH', '/NOPE', { price: '1.00 USD' })).status).to.equal(404);
    expect((await admin('POST', '', { id: 'X', title: 'no price' })).json.error).to.match(
      /Missing required field/,
    );
    expect((await admin('PATCH', '/SKU-000', { price: 'free' })).json.error).to.match(/Invalid price/);
  });

  it('deleteItems sends items_batch DELETE records through the budget', async () => {
    sim = await withSim();
    await seed(3);
    const client = clientFor(sim);
    const res = await client.deleteItems!(['SKU-000', 'SKU-002']);
    expect(res.handle).to.be.a('string');
    expect(sim.products(CATALOG).map((p) => p.id)).to.deep.equal(['SKU-001']);
    expect(client.budgetRemaining()).to.be.below(200);
  });
});
