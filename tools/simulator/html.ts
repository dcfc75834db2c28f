import type { IncomingMessage } from 'node:http';
import type { SimCall, SimHistoryEntry, SimulatorFaults } from './types.ts';

/**
 * Pages for people, served by the simulator to a browser: the catalog (search by id, sort by any column,
 * the last change of every item), the call log and the batches. A browser asks for text/html; everything
 * else (`?format=json`, `Accept: application/json`, curl's `*` / `*`, the worker) keeps getting JSON.
 * Self-contained: inline CSS and JS only, no external asset (the Content-Security-Policy says so), and
 * every value is HTML-escaped; the script reads the data from the DOM, so no value is ever put into it.
 */

export interface BatchRow {
  handle: string;
  catalog_id: string;
  submitted_at: string;
  due_at: string;
  status: string;
  items: number;
  errors_total_count: number;
}

export interface PageData {
  products(catalogId: string): Record<string, unknown>[];
  history(catalogId: string): SimHistoryEntry[];
  batches(): BatchRow[];
  calls(): SimCall[];
  faults(): SimulatorFaults;
}

export interface Page {
  status: number;
  html: string;
  headers: Record<string, string>;
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function escapeHtml(value: unknown): string {
  const s =
    value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** True when the request is a browser's: `format` not given and Accept names text/html before JSON. */
export function wantsHtml(req: IncomingMessage, url: URL): boolean {
  const format = url.searchParams.get('format');
  if (format !== null) return format === 'html';
  const accept = (req.headers.accept ?? '').toLowerCase();
  const html = accept.indexOf('text/html');
  if (html === -1) return false;
  const json = accept.indexOf('application/json');
  return json === -1 || html < json;
}

const STYLE = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; --accent: #2563eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 1.2rem 1.6rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1.4rem; margin-bottom: 1rem; }
h1 { font-size: 1.3rem; margin: 0; }
nav a { margin-right: 1rem; color: var(--accent); }
.muted { color: var(--muted); }
input[type=search] { font: inherit; padding: .35rem .6rem; min-width: 18rem; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin-top: .8rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { cursor: pointer; user-select: none; white-space: nowrap; position: sticky; top: 0; background: Canvas; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.ok { color: #15803d; } .bad { color: #b91c1c; } .wait { color: #b45309; }
.empty { padding: 2rem 0; color: var(--muted); }
`;

/** Sorting by a column (click a header; numbers as numbers) and filtering rows by the search box. */
const SCRIPT = `
(function () {
  var table = document.querySelector('table[data-sortable]');
  if (!table) return;
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
      headers.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir);
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-v') || a.cells[col].textContent;
        var y = b.cells[col].getAttribute('data-v') || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny) && String(nx) === x.trim() && String(ny) === y.trim())
          ? nx - ny : x.localeCompare(y, undefined, { numeric: true });
        return dir === 'ascending' ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var search = document.getElementById('search');
  var count = document.getElementById('shown');
  if (!search) return;
  function filter() {
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (r) {
      var hit = q === '' || (r.getAttribute('data-id') || '').toLowerCase().indexOf(q) !== -1;
      r.hidden = !hit;
      if (hit) shown++;
    });
    if (count) count.textContent = String(shown);
  }
  search.addEventListener('input', filter);
  var initial = new URLSearchParams(location.search).get('q');
  if (initial) { search.value = initial; }
  filter();
})();
`;

function layout(title: string, nav: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><nav>${nav}</nav></header>
${body}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function link(href: string, text: string): string {
  return `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
}

function nav(catalogIds: readonly string[]): string {
  return [
    ...catalogIds.map((id) => link(`/${id}/products`, `catalog ${id}`)),
    link('/_admin/calls', 'call log'),
    link('/_admin/batches', 'batches'),
    link('/_admin/faults?format=json', 'faults (JSON)'),
  ]
    .filter(Boolean)
    .join('');
}

function statusClass(status: string): string {
  if (status === 'finished' || status === 'ok') return 'ok';
  if (status === 'error') return 'bad';
  return 'wait';
}

const PRODUCT_COLUMNS = ['retailer_id', 'title', 'price', 'availability', 'condition', 'brand'] as const;

export function catalogPage(data: PageData, catalogId: string, productsPath: string): string {
  const products = data.products(catalogId);
  const last = new Map<string, SimHistoryEntry>();
  for (const e of data.history(catalogId)) last.set(e.id, e);
  const rows = products.map((p) => {
    const id = String(p.retailer_id ?? '');
    const change = last.get(id);
    const cells = PRODUCT_COLUMNS.map((c) =>
      c === 'retailer_id' ? `<td><code>${escapeHtml(p[c])}</code></td>` : `<td>${escapeHtml(p[c])}</td>`,
    );
    const changeCell = change
      ? `<td data-v="${escapeHtml(change.time)}">${escapeHtml(change.time)} · ${escapeHtml(change.method)} ` +
        `(${escapeHtml(
          Object.keys(change.fields)
            .filter((f) => f !== 'id')
            .join(', ') || 'no fields',
        )}) by batch ` +
        `<a href="/_admin/batches#${escapeHtml(change.handle)}"><code>${escapeHtml(change.handle.slice(0, 12))}…</code></a>` +
        (change.batchStatus === 'error' ? ' <span class="bad">(batch ended in error)</span>' : '') +
        '</td>'
      : '<td class="muted">—</td>';
    return `<tr data-id="${escapeHtml(id)}">${cells.join('')}${changeCell}</tr>`;
  });
  const faults = data.faults();
  const faultNote =
    Object.keys(faults).length > 0
      ? `<p class="wait">Faults switched on: <code>${escapeHtml(JSON.stringify(faults))}</code></p>`
      : '';
  const body = `
<p><label>Search by id <input type="search" id="search" placeholder="retailer id" autocomplete="off"></label>
<span class="muted"><span id="shown">${products.length}</span> of ${products.length} shown ·
click a column to sort · ${link(`${productsPath}?format=json`, 'JSON')} · ${link(`${productsPath}?format=table`, 'text')}</span></p>
${faultNote}
${
  products.length === 0
    ? '<p class="empty">The catalog is empty: no batch has been applied yet.</p>'
    : `<table data-sortable id="products">
<thead><tr>${PRODUCT_COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}<th>last change</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`
}`;
  return layout(`Catalog ${catalogId}: ${products.length} products`, nav([]), body);
}

function catalogsOf(data: PageData): string[] {
  return [...new Set(data.batches().map((b) => b.catalog_id))];
}

export function callsPage(data: PageData): string {
  const calls = data.calls().slice(-1000).reverse();
  const rows = calls.map(
    (c) =>
      `<tr data-id="${escapeHtml(c.handle ?? '')}">` +
      `<td class="num">${c.seq}</td><td data-v="${escapeHtml(c.time)}">${escapeHtml(c.time)}</td>` +
      `<td>${escapeHtml(c.method)}</td><td><code>${escapeHtml(c.path)}</code></td><td>${escapeHtml(c.endpoint)}</td>` +
      `<td class="num">${escapeHtml(c.itemCount ?? '')}</td>` +
      `<td class="${statusClass(c.outcome)}">${escapeHtml(c.httpStatus ?? 'pending')}</td>` +
      `<td>${escapeHtml(c.errorCode === null ? '' : `${c.errorCode}${c.errorSubcode === null ? '' : `/${c.errorSubcode}`}`)}</td>` +
      `<td>${c.handle ? `<a href="/_admin/batches#${escapeHtml(c.handle)}"><code>${escapeHtml(c.handle.slice(0, 12))}…</code></a>` : ''}</td>` +
      `<td class="num">${escapeHtml(c.durationMs ?? '')}</td></tr>`,
  );
  const body = `
<p class="muted">Every Graph call the simulator received, newest first (${calls.length} shown).
${link('/_admin/calls?format=json', 'JSON')} (filters: <code>?endpoint=&amp;catalog=&amp;since=</code>)</p>
${
  calls.length === 0
    ? '<p class="empty">No call yet.</p>'
    : `<table data-sortable id="calls">
<thead><tr><th>#</th><th>time</th><th>method</th><th>path</th><th>endpoint</th><th>items</th><th>HTTP</th><th>error code</th><th>batch</th><th>ms</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`
}`;
  return layout('Simulator call log', nav(catalogsOf(data)), body);
}

export function batchesPage(data: PageData): string {
  const batches = data.batches().slice().reverse();
  const rows = batches.map(
    (b) =>
      `<tr id="${escapeHtml(b.handle)}" data-id="${escapeHtml(b.handle)}"><td><code>${escapeHtml(b.handle)}</code></td>` +
      `<td>${escapeHtml(b.catalog_id)}</td><td>${escapeHtml(b.submitted_at)}</td><td>${escapeHtml(b.due_at)}</td>` +
      `<td class="${statusClass(b.status)}">${escapeHtml(b.status)}</td><td class="num">${b.items}</td>` +
      `<td class="num">${b.errors_total_count}</td></tr>`,
  );
  const body = `
<p class="muted">Every batch accepted by items_batch, newest first. ${link('/_admin/batches?format=json', 'JSON')}</p>
${
  batches.length === 0
    ? '<p class="empty">No batch yet.</p>'
    : `<table data-sortable id="batches">
<thead><tr><th>handle</th><th>catalog</th><th>submitted</th><th>due</th><th>status</th><th>items</th><th>errors</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`
}`;
  return layout('Simulator batches', nav(catalogsOf(data)), body);
}

/**
 * The page for a path, or null when the path has none (the caller then answers as before). Catalog pages
 * live at `/{version}/{catalog_id}/products`.
 */
export function htmlPage(url: URL, data: PageData): Page | null {
  const pathname = url.pathname.replace(/\/+$/, '');
  if (pathname === '/_admin/calls') return { status: 200, html: callsPage(data), headers: PAGE_HEADERS };
  if (pathname === '/_admin/batches') return { status: 200, html: batchesPage(data), headers: PAGE_HEADERS };
  const segments = pathname.split('/').filter(Boolean);
  if (segments[0] && /^v\d+\.\d+$/.test(segments[0])) segments.shift();
  if (segments.length === 2 && segments[1] === 'products') {
    return { status: 200, html: catalogPage(data, segments[0]!, pathname), headers: PAGE_HEADERS };
  }
  return null;
}
