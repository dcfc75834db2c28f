import type { HeldInfo } from '../contract/manifest.ts';
import type { ManifestRow } from '../ops/manifest-view.ts';
import { readJson } from '../ops/synced-documents.ts';
import type { StatusStore } from '../ops/status-report.ts';

/** What `status` shows of held windows: each with its rules, and what to do (release or discard). */

export interface HeldWindow {
  key: string;
  manifestId: string;
  window: string;
  items: number;
  files: string[];
  held: HeldInfo | null;
}

export async function readHeldWindows(
  store: StatusStore,
  rows: readonly ManifestRow[],
): Promise<HeldWindow[]> {
  const out: HeldWindow[] = [];
  for (const r of rows.filter((x) => x.state === 'held')) {
    const read = await readJson(store.s3, store.bucket, r.key);
    if (!read.found || 'error' in read) continue;
    const m = read.value as {
      manifestId: string;
      window: string;
      counts?: { items?: number };
      sources?: { key: string }[];
      held?: HeldInfo;
    };
    out.push({
      key: r.key,
      manifestId: m.manifestId,
      window: m.window,
      items: m.counts?.items ?? 0,
      files: (m.sources ?? []).map((s) => s.key),
      held: m.held ?? null,
    });
  }
  return out;
}

export function renderHeldWindows(held: readonly HeldWindow[]): string[] {
  if (held.length === 0) return [];
  const lines = ['', `Held by a guardrail, nothing sent (${held.length}): release or discard each one`];
  for (const h of held) {
    lines.push(
      `  ${h.manifestId}  window ${h.window}, ${h.items} item(s), files ${h.files.join(', ') || '-'}`,
    );
    for (const r of h.held?.rules ?? []) {
      lines.push(`    - ${r.rule}: ${r.message}`);
      for (const e of r.evidence.examples.slice(0, 3))
        lines.push(`        ${e.id}: ${e.old ?? '-'} → ${e.new ?? '-'}`);
    }
    lines.push(
      `    catalog-sync release ${h.manifestId} --dry-run   |   catalog-sync discard ${h.manifestId} --reason "…"`,
    );
  }
  return lines;
}
