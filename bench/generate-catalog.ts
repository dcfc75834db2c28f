import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes a deterministic product CSV of `rows` rows (same content for the same arguments), shaped like
 * a real export: quoted descriptions with commas, a few availability spellings, extra columns.
 * `variant` changes every row's price, so a second file with another variant is "all changed".
 */
export async function generateCatalog(path: string, rows: number, variant = 0, idOffset = 0): Promise<void> {
  const out = createWriteStream(path);
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  await write('id,title,description,link,image_link,availability,price,brand,gtin\n');
  const availability = ['in stock', 'out of stock', 'in stock', 'available for order'];
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const id = `SKU-${String(i + idOffset).padStart(7, '0')}`;
    const price = (((i * 7919) % 50_000) / 100 + 1 + variant / 100).toFixed(2);
    buf +=
      `${id},Product ${i} title,"A fine product, number ${i}, with a description long enough to look real.",` +
      `https://shop.example.com/p/${id},https://cdn.example.com/img/${id}.jpg,${availability[i % 4]},${price},` +
      `Brand ${i % 97},${String(4_000_000_000_000 + i)}\n`;
    if (buf.length > 1 << 16) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  out.end();
  await once(out, 'finish');
}

if (import.meta.filename === process.argv[1]) {
  const [path, rows, variant] = process.argv.slice(2);
  if (!path || !rows) {
    console.error('usage: node bench/generate-catalog.ts <out.csv> <rows> [variant]');
    process.exit(2);
  }
  await generateCatalog(path, Number(rows), Number(variant ?? 0));
}
