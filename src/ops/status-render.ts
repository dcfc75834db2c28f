import type { ManifestDetail, ManifestRow } from './manifest-view.ts';
import type { ProductVerdict } from './product-trace.ts';
import type { QueueDepth } from './queue-depth.ts';
import type { ProductReport } from './status-report.ts';
import { formatTable, type Column } from './table.ts';

/** Human text for `status`. Everything here is also in the --json output. */

export interface QueueStatus {
  queue: QueueDepth | null;
  dlq: QueueDepth | null;
  /** Why a queue is missing from the report (not configured, or unreachable). */
  notes: string[];
}

export interface Overview {
  generatedAt: string;
  hours: number;
  manifests: ManifestRow[];
  queues: QueueStatus;
}

const MANIFEST_COLUMNS: Column<ManifestRow>[] = [
  { header: 'HOUR', value: (r) => r.hour },
  { header: 'MANIFEST', value: (r) => r.manifestId, maxWidth: 40 },
  { header: 'FILES', value: (r) => r.files },
  { header: 'ITEMS SENT', value: (r) => r.itemsSent },
  { header: 'CALLS', value: (r) => r.calls, align: 'right' },
  { header: 'ACCEPTED', value: (r) => r.accepted },
  { header: 'REJECTED', value: (r) => r.rejected },
  { header: 'UNKNOWN', value: (r) => r.unknown },
  { header: 'STATE', value: (r) => (r.error ? `unreadable: ${r.error}` : r.state), maxWidth: 60 },
];

function queueLines(q: QueueStatus): string[] {
  const rows = [
    q.queue && { name: 'queue', d: q.queue },
    q.dlq && { name: 'dead-letter queue', d: q.dlq },
  ].filter((r): r is { name: string; d: QueueDepth } => Boolean(r));
  const lines: string[] = [];
  if (rows.length > 0)
    lines.push(
      formatTable(
        [
          { header: 'QUEUE', value: (r) => r.name },
          { header: 'WAITING', value: (r) => r.d.visible },
          { header: 'IN FLIGHT', value: (r) => r.d.inFlight },
          { header: 'DELAYED', value: (r) => r.d.delayed },
        ],
        rows,
      ),
    );
  if (q.dlq && q.dlq.visible + q.dlq.inFlight > 0)
    lines.push('The dead-letter queue is not empty: `catalog-sync redrive --list` shows why.');
  lines.push(...q.notes);
  return lines;
}

export function renderOverview(o: Overview): string {
  const lines = [`Manifests of the last ${o.hours} hours (UTC windows, newest first):`, ''];
  if (o.manifests.length === 0) lines.push(`(no manifests in the last ${o.hours} hours)`);
  else {
    const total: ManifestRow = {
      hour: 'total',
      manifestId: `${o.manifests.length} manifest${o.manifests.length === 1 ? '' : 's'}`,
      key: '',
      state: '',
      files: 0,
      unusableFiles: 0,
      rowsRejected: 0,
      itemsSent: 0,
      calls: 0,
      accepted: 0,
      rejected: 0,
      unknown: 0,
      updatedAt: null,
    };
    for (const r of o.manifests) {
      total.files += r.files;
      total.itemsSent += r.itemsSent;
      total.calls! += r.calls ?? 0;
      total.accepted += r.accepted;
      total.rejected += r.rejected;
      total.unknown += r.unknown;
    }
    lines.push(formatTable(MANIFEST_COLUMNS, [...o.manifests, total]));
  }
  lines.push('', ...queueLines(o.queues));
  return lines.join('\n');
}

export function renderManifest(d: ManifestDetail): string {
  const m = d.manifest;
  const c = m.counts;
  const lines = [
    `Manifest ${m.manifestId}  (${d.key})`,
    `  window ${m.window}   state ${m.state}   catalog ${m.catalogId}`,
    ...(m.waiting
      ? [
          `  waiting before its next items_batch call: ${m.waiting.reason}, since ${m.waiting.since}, until ${m.waiting.until}`,
        ]
      : []),
    `  created ${m.createdAt}   submitted ${m.submittedAt ?? '-'}   finished ${m.finishedAt ?? '-'}   archived ${m.archivedAt ?? '-'}`,
    `  items sent ${c.items}, accepted ${c.accepted}, rejected ${c.rejected}, unknown ${c.unknown}, ` +
      `rows rejected ${c.rowsRejected ?? '-'}, calls ${c.calls ?? '-'}`,
    '',
    `Sources (${d.sources.length}):`,
    d.sources.length === 0
      ? '(none)'
      : formatTable(
          [
            { header: 'KEY', value: (s) => s.key, maxWidth: 70 },
            { header: 'ROWS', value: (s) => s.rows?.total },
            { header: 'VALID', value: (s) => s.rows?.valid },
            { header: 'REJECTED', value: (s) => s.rows?.rejected },
            { header: 'UNCHANGED', value: (s) => s.rows?.unchanged },
            { header: 'OLDER', value: (s) => s.rows?.older },
            { header: 'SUPERSEDED', value: (s) => s.rows?.superseded },
            { header: 'FILE ERROR', value: (s) => s.fileError ?? null, maxWidth: 60 },
          ],
          d.sources,
        ),
    '',
    `Batches (${d.batches.length}):`,
    d.batches.length === 0
      ? '(none: nothing needed sending)'
      : formatTable(
          [
            { header: '#', value: (b) => b.index },
            { header: 'ITEMS', value: (b) => b.itemCount },
            { header: 'HANDLE', value: (b) => b.handle ?? null },
            { header: 'STATUS', value: (b) => b.status },
            { header: 'ATTEMPTS', value: (b) => b.attempts ?? null, align: 'right' },
            { header: 'ERRORS', value: (b) => b.errorsTotal ?? null, align: 'right' },
            { header: 'WARNINGS', value: (b) => b.warningsTotal ?? null, align: 'right' },
            { header: 'FINISHED', value: (b) => b.finishedAt ?? null },
          ],
          d.batches,
        ),
    '',
    `Rejected by Meta (${d.rejected.length}):`,
    d.rejected.length === 0
      ? '(none)'
      : formatTable(
          [
            { header: 'ID', value: (r) => r.id },
            { header: 'BATCH', value: (r) => r.batchIndex },
            { header: 'SOURCE', value: (r) => (r.key ? `${r.key}:${r.line ?? '?'}` : null), maxWidth: 60 },
            { header: 'REASON', value: (r) => r.reason, maxWidth: 100 },
          ],
          d.rejected,
        ),
  ];
  return lines.join('\n');
}

function verdictLines(v: ProductVerdict, id: string): string[] {
  const sentLine = (s: {
    sentAt: string;
    manifestKey: string;
    batchIndex: number;
    sourceKey: string;
    handle: string | null;
  }) =>
    `  sent ${s.sentAt} from ${s.sourceKey}, manifest ${s.manifestKey} batch ${s.batchIndex}` +
    (s.handle ? ` (handle ${s.handle})` : '');
  switch (v.kind) {
    case 'accepted':
      return [
        `${id}: reached Meta. Meta accepted it${v.finishedAt ? ` (batch finished ${v.finishedAt})` : ''}.`,
        sentLine(v.sent),
      ];
    case 'rejected-by-meta':
      return [`${id}: did NOT reach the catalog. Meta rejected it: ${v.reason}`, sentLine(v.sent)];
    case 'in-progress':
      return [
        `${id}: sent, not confirmed yet: the batch is ${v.batchStatus} at Meta. The worker (or the hourly sweep) follows it up.`,
        sentLine(v.sent),
      ];
    case 'batch-error':
      return [
        `${id}: unknown. Meta reported the whole batch as failed (${v.errorsTotal ?? '?'} errors) without naming this item. ` +
          'The worker sends it again through the send gate (UNKNOWN_RETRY_MAX times, then an errors/unknown/ report and the ItemsUnknownFate alarm); its file stays in landing/ until its fate is known.',
        sentLine(v.sent),
      ];
    case 'manifest-missing':
      return [
        `${id}: sent, but its manifest (or the batch in it) is gone, expired or never written, so Meta's answer is unknown.`,
        sentLine(v.sent),
      ];
    case 'row-rejected':
      return [
        `${id}: did NOT reach Meta. Its row was rejected before sending: ${v.rejection.reason}`,
        `  ${v.rejection.sourceKey} line ${v.rejection.line}, ${v.rejection.createdAt} (report ${v.rejection.reportKey})`,
      ];
    case 'no-record':
      return [`${id}: no record in the last ${v.hours} hours: never sent, and no rejected row names it.`];
  }
}

export function renderProduct(p: ProductReport): string {
  const lines = verdictLines(p.verdict, p.productId);
  const { rowRejections, metaRejections, unusableFiles } = p.evidence;
  const laterRows = p.verdict.kind === 'row-rejected' ? rowRejections.slice(1) : rowRejections;
  if (laterRows.length > 0) {
    lines.push('', 'Rejected rows for this id in the window (newest first):');
    lines.push(
      formatTable(
        [
          { header: 'WHEN', value: (r) => r.createdAt },
          { header: 'FILE', value: (r) => `${r.sourceKey}:${r.line}`, maxWidth: 70 },
          { header: 'REASON', value: (r) => r.reason, maxWidth: 100 },
        ],
        laterRows,
      ),
    );
  }
  const otherMeta = metaRejections.filter(
    (r) => !(p.verdict.kind === 'rejected-by-meta' && r.reason === p.verdict.reason),
  );
  if (otherMeta.length > 0) {
    lines.push('', 'Meta rejections of this id in the window:');
    lines.push(
      formatTable(
        [
          { header: 'WHEN', value: (r) => r.createdAt },
          { header: 'MANIFEST', value: (r) => `${r.manifestId}#${r.batchIndex}` },
          { header: 'REASON', value: (r) => r.reason, maxWidth: 100 },
        ],
        otherMeta,
      ),
    );
  }
  if (p.verdict.kind === 'no-record' && unusableFiles.length > 0) {
    lines.push('', 'Files that could not be read at all in the window (the product may be in one):');
    for (const f of unusableFiles) lines.push(`  ${f.sourceKey}: ${f.problem} ${f.message}`.trimEnd());
  }
  for (const u of p.unreadableReports) lines.push(`warning: report ${u.key} is unreadable: ${u.error}`);
  return lines.join('\n');
}
