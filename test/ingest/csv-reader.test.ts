import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { ConfigError } from '../../src/config.ts';
import { readProducts } from '../../src/ingest/csv-reader.ts';
import { HEADER, options, readAll, row, summarise } from './helpers.ts';

const lines = (...rows: string[]): string => `${rows.join('\n')}\n`;

describe('ingest csv reader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'csv-reader-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("maps a valid record to Meta's item: canonical price, availability, default condition", async () => {
    const { events, error } = await readAll(
      lines(HEADER, row(1, { availability: 'InStock', price: ' 9.9 ' })),
    );
    expect(error).to.equal(null);
    expect(events).to.deep.equal([
      {
        kind: 'row',
        line: 2,
        item: {
          id: 'SKU-1',
          title: 'Mug 1',
          description: 'Stoneware mug',
          link: 'https://shop.example/p/1',
          image_link: 'https://cdn.shop.example/1.jpg',
          availability: 'in stock',
          price: '9.90 USD',
          brand: 'Acme',
          condition: 'new',
        },
      },
    ]);
  });

  it('applies COLUMN_MAP: renamed columns, checked extras, "" for an empty extra (clears it at Meta)', async () => {
    const csv = lines(
      'sku,name,description,link,image_link,availability,price,brand,sale,qty,condition,ignored',
      'A,Mug,d,https://a.example/,https://a.example/i.jpg,in stock,10,Acme,7.5,3,Refurbished,x',
      'B,Mug,d,https://a.example/,https://a.example/i.jpg,in stock,10,Acme,,,,x',
    );
    const columnMap = { SKU: 'id', name: 'title', sale: 'sale_price', qty: 'quantity_to_sell_on_facebook' };
    const { events } = await readAll(csv, options({ columnMap, currency: 'EUR', defaultCondition: 'used' }));
    const items = events.map((e) => (e.kind === 'row' ? e.item : e));
    expect(items).to.deep.equal([
      {
        id: 'A',
        title: 'Mug',
        description: 'd',
        link: 'https://a.example/',
        image_link: 'https://a.example/i.jpg',
        availability: 'in stock',
        price: '10.00 EUR',
        brand: 'Acme',
        condition: 'refurbished',
        sale_price: '7.50 EUR',
        quantity_to_sell_on_facebook: 3,
      },
      {
        id: 'B',
        title: 'Mug',
        description: 'd',
        link: 'https://a.example/',
        image_link: 'https://a.example/i.jpg',
        availability: 'in stock',
        price: '10.00 EUR',
        brand: 'Acme',
        sale_price: '',
        quantity_to_sell_on_facebook: '',
        condition: 'used',
      },
    ]);
  });

  it('names every broken field of a row in one reason, in column order', async () => {
    const { events } = await readAll(lines(HEADER, row(1, { title: '', price: '-1', link: '/p/1' })));
    expect(summarise(events)).to.deep.equal([
      '2 rejected SKU-1: title is empty (required); link "/p/1" is not an absolute http(s) URL (relative URLs are not allowed); price "-1" is negative',
    ]);
  });

  it('numbers records by the line they start on, after quoted newlines, CRLF, lone CR and blank lines', async () => {
    const csv =
      `\r\n${HEADER}\r\n` + // header on line 2
      `${row(1, { description: '"a\r\nb\nc"' })}\r\n` + // lines 3-5
      `${row(2, { title: '"x\ry"' })}\r\n` + // lines 6-7 (a lone CR ends a line too)
      '\r\n   \r\n' + // lines 8-9
      `${row(3, { price: 'x' })}\r\n` + // line 10
      `${row(4)}`; // line 11, no final line break
    const { events, error } = await readAll(csv);
    expect(error).to.equal(null);
    expect(summarise(events)).to.deep.equal([
      '3 ok SKU-1',
      '6 ok SKU-2',
      '10 rejected SKU-3: price "x" is not a number',
      '11 ok SKU-4',
    ]);
  });

  it('gives the same events whatever the chunking (BOM, CRLF and multi-byte characters split across chunks)', async () => {
    const csv = `\uFEFF${HEADER}\r\n${row(1, { title: '"Tea 🍵, ""green"""', description: '"é\r\nà"' })}\r\n${row(2, { price: 'EUR 1' })}\r\n`;
    const whole = await readAll(csv);
    expect(whole.error).to.equal(null);
    expect(whole.events).to.have.length(2);
    for (const size of [1, 2, 3, 5, 64]) {
      const chunked = await readAll(csv, options(), size);
      expect(chunked, `chunks of ${size}`).to.deep.equal(whole);
    }
  });

  it('yields nothing for a header-only file and refuses an empty or blank one', async () => {
    expect(await readAll(`${HEADER}\n`)).to.deep.equal({ events: [], error: null });
    expect(await readAll(HEADER)).to.deep.equal({ events: [], error: null });
    expect((await readAll('')).error?.problem).to.equal('empty');
    expect((await readAll('\uFEFF')).error?.problem).to.equal('empty');
    expect((await readAll('\n  \n\n')).error?.problem).to.equal('empty');
  });

  it('refuses a file that turns out to be invalid UTF-8 deep inside, naming the line', async () => {
    const good = Array.from({ length: 5000 }, (_, i) => row(i));
    const bytes = Buffer.concat([
      Buffer.from(lines(HEADER, ...good)),
      Buffer.from(`${row(9999, { title: 'Caf\u00e9' })}\n`, 'latin1'),
    ]);
    const file = path.join(dir, 'late-latin1.csv');
    await writeFile(file, bytes);
    // Rows before the problem may already have been yielded: the consumer must drop them (types.ts).
    const { error } = await readAll(createReadStream(file, { highWaterMark: 16 * 1024 }));
    expect(error?.problem).to.equal('not-utf8');
    expect(error?.line).to.equal(5002);
    expect(error?.message).to.match(/first bad byte on line 5002/);
  });

  it('refuses NUL bytes as binary, with the line', async () => {
    const { error } = await readAll(
      Buffer.concat([Buffer.from(lines(HEADER, row(1))), Buffer.from([0x00, 0x01])]),
    );
    expect(error?.problem).to.equal('binary');
    expect(error?.line).to.equal(3);
  });

  it('puts a parse error after the last good record, even deep inside one chunk', async () => {
    const good = Array.from({ length: 3000 }, (_, i) => row(i, { description: '"two\nlines"' }));
    const csv = lines(HEADER, ...good, row(1, { title: '"Mug"x' }), row(2));
    const { events, error } = await readAll(csv);
    expect(events).to.have.length(3000);
    expect(error?.problem).to.equal('not-csv');
    expect(error?.line).to.equal(6002);
    expect(error?.message).to.match(/^line 6002: a closing quote is followed by other characters/);
  });

  it('bounds one record: a quote never closed in a big file fails fast as line-too-long', async () => {
    const csv = lines(
      HEADER,
      row(1, { description: '"never closed' }),
      ...Array.from({ length: 50_000 }, (_, i) => row(i)),
    );
    const input = Readable.from([Buffer.from(csv)]);
    const { events, error } = await readAll(input, options({ maxRecordLength: 10_000 }));
    expect(events).to.deep.equal([]);
    expect(error?.problem).to.equal('line-too-long');
    expect(error?.line).to.equal(2);
    expect(error?.message).to.match(/longer than 10000 characters/);
  });

  it('streams: a row comes out while the input is still open', async () => {
    const input = new PassThrough();
    input.write(lines(HEADER, row(1)));
    const events = readProducts(input, options());
    const first = await events.next(); // would hang if the reader waited for the end of the file
    expect(first.value).to.deep.include({ kind: 'row', line: 2 });
    input.end(`${row(2)}\n`);
    const rest: unknown[] = [];
    for await (const event of events) rest.push(event);
    expect(rest).to.have.length(1);
  });

  it('passes an input stream failure through as is: not a file problem, worth a retry', async () => {
    const failure = new Error('socket hang up');
    const input = new PassThrough();
    input.write(lines(HEADER, row(1)));
    setImmediate(() => input.destroy(failure));
    let caught: unknown;
    try {
      for await (const _event of readProducts(input, options()));
    } catch (err) {
      caught = err;
    }
    expect(caught).to.equal(failure);
  });

  it('destroys the input when the consumer stops early', async () => {
    const input = Readable.from(
      (function* () {
        yield Buffer.from(lines(HEADER, row(1), row(2)));
        for (;;) yield Buffer.from(`${row(3)}\n`);
      })(),
    );
    for await (const event of readProducts(input, options())) {
      expect(event.kind).to.equal('row');
      break;
    }
    await waitFor('input destroyed', async () => input.destroyed, { timeoutMs: 2000, intervalMs: 10 });
  });

  it('refuses options it cannot work with before reading', async () => {
    for (const bad of [options({ currency: 'XYZ' }), options({ defaultCondition: 'mint' })]) {
      const attempt = readAll(lines(HEADER, row(1)), bad);
      let caught: unknown;
      await attempt.catch((err: unknown) => (caught = err));
      expect(caught).to.be.instanceOf(ConfigError);
    }
  });
});
