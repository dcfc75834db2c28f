import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Simulator } from '../../tools/simulator/index.ts';
import { browserMissing, launchBrowser, screenshotPath } from '../support/browser.ts';
import { CATALOG, TOKEN, validItem, VERSION, withSim } from './helpers.ts';

/** What a hostile export could put in a title: it must show as text, never run. */
const HOSTILE_TITLE = '<img src=x onerror="window.pwned=1">Lamp & "Shade"';
const HOSTILE_ID = `Q-"><script>window.pwned=2</script>`;

async function send(sim: Simulator, items: Record<string, unknown>[]): Promise<string> {
  const res = await fetch(`${sim.url}/${VERSION}/${CATALOG}/items_batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({
      item_type: 'PRODUCT_ITEM',
      requests: items.map((data) => ({ method: 'UPDATE', data })),
    }),
  });
  const json = (await res.json()) as { handles: string[] };
  expect(res.status, JSON.stringify(json)).to.equal(200);
  return json.handles[0]!;
}

describe('simulator pages for people', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let productsUrl: string;
  let handles: string[];

  before(async () => {
    sim = await withSim({ processingDelayMs: 0 });
    productsUrl = `${sim.url}/${VERSION}/${CATALOG}/products`;
    handles = [
      await send(sim, [
        validItem('SKU-10', { price: '30.00 USD' }),
        validItem('SKU-2', { price: '5.00 USD' }),
        validItem(HOSTILE_ID, { title: HOSTILE_TITLE, price: '12.00 USD' }),
      ]),
      await send(sim, [validItem('SKU-2', { price: '4.50 USD', title: 'Cheaper' })]),
    ];
  });
  after(() => sim.stop());

  it('a browser (Accept: text/html) gets the catalog as a page; ?format=json, Accept: application/json and curl keep JSON', async () => {
    const page = await fetch(productsUrl, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).to.include("default-src 'none'");
    const html = await page.text();
    expect(html).to.match(/^<!doctype html>/);
    expect(html).to.include('Catalog 1234567890: 3 products');
    expect(html).to.include('id="search"');
    expect(html).to.include('href="/_admin/calls"');
    expect(html).to.include('href="/_admin/batches"');
    // The last change of SKU-2 is the second batch, with the fields it set.
    const sku2 = html.split('\n').find((l) => l.includes('data-id="SKU-2"'))!;
    expect(sku2).to.include(`/_admin/batches#${handles[1]}`);
    expect(sku2).to.include('Cheaper');

    for (const [url, accept] of [
      [`${productsUrl}?format=json`, 'text/html'],
      [productsUrl, 'application/json'],
      [productsUrl, '*/*'],
    ] as const) {
      const res = await fetch(url, { headers: { accept } });
      expect(res.headers.get('content-type'), `${url} ${accept}`).to.match(/^application\/json/);
      const json = (await res.json()) as { data: { retailer_id: string }[] };
      expect(json.data.map((p) => p.retailer_id)).to.have.members(['SKU-10', 'SKU-2', HOSTILE_ID]);
    }
    const table = await fetch(`${productsUrl}?format=table`, { headers: { accept: 'text/html' } });
    expect(table.headers.get('content-type')).to.match(/^text\/plain/);
  });

  it('escapes every value and loads nothing from outside (inline CSS and JS only)', async () => {
    const html = await (await fetch(productsUrl, { headers: { accept: 'text/html' } })).text();
    expect(html).not.to.include('<img');
    expect(html).not.to.include('<script>window.pwned');
    expect(html).to.include('&#60;img src=x onerror=&#34;window.pwned=1&#34;&#62;Lamp &#38; &#34;Shade&#34;');
    expect(html).to.include('data-id="Q-&#34;&#62;&#60;script&#62;window.pwned=2&#60;/script&#62;"');
    expect(html).not.to.match(/<(link|img|iframe)\b/i);
    expect(html).not.to.match(/<script[^>]+src=/i);
    expect(html).not.to.match(/(src|href)="(https?:)?\/\//i);
    expect(html.match(/<script>/g)).to.have.length(1);
  });

  it('the call log and the batches are pages too, and stay JSON for scripts', async () => {
    const calls = await (await fetch(`${sim.url}/_admin/calls`, { headers: { accept: 'text/html' } })).text();
    expect(calls).to.include('Simulator call log');
    expect(calls).to.match(/<td>items_batch<\/td>/);
    expect(calls).to.include(`href="/_admin/batches#${handles[0]}"`);
    expect(calls).to.include(`href="/${CATALOG}/products"`);
    const batches = await (
      await fetch(`${sim.url}/_admin/batches`, { headers: { accept: 'text/html' } })
    ).text();
    expect(batches).to.include(`id="${handles[0]}"`);
    expect(batches).to.match(/class="ok">finished</);
    const json = (await (
      await fetch(`${sim.url}/_admin/calls?format=json`, { headers: { accept: 'text/html' } })
    ).json()) as {
      calls: unknown[];
    };
    expect(json.calls.length).to.be.at.least(2);
    const plain = (await (await fetch(`${sim.url}/_admin/batches`)).json()) as { batches: unknown[] };
    expect(plain.batches).to.have.length(2);
  });

  describe('in a headless browser', function () {
    let browser: Browser | undefined;
    before(async function () {
      const missing = browserMissing();
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      browser = await launchBrowser();
    });
    after(async () => browser?.close());

    it('searches by id, sorts by a column, runs no injected script, links to the call log', async () => {
      const page = await browser!.newPage();
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(sim.url)) external.push(r.url());
      });
      await page.goto(productsUrl);
      expect(await page.locator('#products tbody tr').count()).to.equal(3);
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).to.equal(
        undefined,
      );
      expect(await page.locator('tr[data-id^="Q-"] td').nth(1).textContent()).to.equal(HOSTILE_TITLE);

      await page.fill('#search', 'sku');
      expect(await page.locator('#products tbody tr:visible').count()).to.equal(2);
      expect(await page.textContent('#shown')).to.equal('2');
      await page.fill('#search', '');

      await page.click('th:has-text("retailer_id")');
      const ids = () =>
        page.locator('#products tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      expect((await ids()).filter((id) => id!.startsWith('SKU'))).to.deep.equal(['SKU-2', 'SKU-10']); // numeric-aware
      await page.click('th:has-text("retailer_id")');
      expect((await ids()).filter((id) => id!.startsWith('SKU'))).to.deep.equal(['SKU-10', 'SKU-2']);

      const shot = await screenshotPath('simulator-catalog.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`      screenshot: ${shot}`);

      await page.click('text=call log');
      await page.waitForURL(`${sim.url}/_admin/calls`);
      expect(await page.locator('#calls tbody tr').count()).to.be.at.least(2);
      const callsShot = await screenshotPath('simulator-calls.png');
      await page.screenshot({ path: callsShot, fullPage: true });
      console.log(`      screenshot: ${callsShot}`);
      expect(external).to.deep.equal([]);
      await page.close();
    });
  });
});
