import type { PlanReport } from './plan.ts';

/** `plan`'s human output; everything in it is also in --json. Lists are cut at `limit` lines each. */

export const EXIT_OK = 0;
export const EXIT_ROWS_REJECTED = 1;
export const EXIT_UNUSABLE = 2;
export const EXIT_WOULD_HOLD = 3;

export function planExitCode(r: PlanReport): number {
  if (r.problem) return EXIT_UNUSABLE;
  if (r.guardrails.held) return EXIT_WOULD_HOLD;
  return r.counts.rejected > 0 ? EXIT_ROWS_REJECTED : EXIT_OK;
}

export function renderPlan(r: PlanReport, limit = 50): string {
  const out: string[] = [];
  const c = r.counts;
  out.push(`Plan for ${r.file} (as ${r.key}), against ${r.state}`);
  if (r.problem) {
    out.push(`  the file is unusable (${r.problem.kind}): ${r.problem.message}`);
    out.push('  Nothing of it would be sent.');
    return `${out.join('\n')}\n`;
  }
  out.push(
    `  ${c.rows} rows: ${c.valid} valid, ${c.rejected} rejected${c.supersededInFile > 0 ? `, ${c.supersededInFile} replaced by a later line of the same id` : ''}`,
  );
  out.push(`  new        ${c.new}`);
  out.push(`  changed    ${c.changed}`);
  out.push(`  unchanged  ${c.unchanged}`);
  out.push(`  older      ${c.older}`);
  out.push(`  rejected   ${c.rejected}`);
  const items = r.batches.reduce((n, b) => n + b.items, 0);
  const bytes = r.batches.reduce((n, b) => n + b.bytes, 0);
  out.push(
    `  items_batch calls: ${r.calls}${r.calls > 0 ? ` (${items} items, ${bytes.toLocaleString('en')} bytes)` : ''}`,
  );
  const cut = <T>(list: T[], line: (x: T) => string[]) => {
    for (const x of list.slice(0, limit)) out.push(...line(x));
    if (list.length > limit) out.push(`  … and ${list.length - limit} more (--json lists all)`);
  };
  if (r.new.length > 0) {
    out.push('', `New (${r.new.length}):`);
    cut(r.new, (n) => [`  ${n.id}  line ${n.line}`]);
  }
  if (r.changed.length > 0) {
    out.push('', `Changed (${r.changed.length}):`);
    cut(r.changed, (ch) => [
      `  ${ch.id}  line ${ch.line}${ch.note ? `  (${ch.note})` : ''}`,
      ...(ch.fields ?? []).map(
        (f) => `    ${f.field}: ${quote(f.old)} → ${quote(f.new)}${f.change ? ` (${f.change})` : ''}`,
      ),
    ]);
  }
  if (r.unchanged.length > 0) {
    out.push('', `Unchanged, not sent (${r.unchanged.length}):`);
    cut(r.unchanged, (u) => [`  ${u.id}  line ${u.line}`]);
  }
  if (r.older.length > 0) {
    out.push('', `Older than what was sent, not sent (${r.older.length}):`);
    cut(r.older, (o) => [
      `  ${o.id}  line ${o.line}: ${o.sentFrom} at ${o.sentAt}${o.version !== undefined && o.version !== null ? `, version ${o.version}` : ''} is newer`,
    ]);
  }
  if (r.rejected.length > 0) {
    out.push('', `Rejected rows (${r.rejected.length}):`);
    cut(r.rejected, (x) => [`  line ${x.line} (${x.id === null ? 'no id' : `id ${x.id}`}): ${x.reason}`]);
  }
  out.push('');
  const g = r.guardrails;
  if (!g.enabled) out.push('Guardrails: off (GUARDRAILS_ENABLED=false).');
  else if (r.calls === 0) out.push('Guardrails: nothing to send, nothing to check.');
  else if (g.held) {
    out.push(`Guardrails: the worker would HOLD this window (nothing sent until \`catalog-sync release\`):`);
    for (const t of g.tripped) {
      out.push(`  - ${t.rule}: ${t.message}`);
      for (const e of t.evidence.examples.slice(0, 5))
        out.push(`      ${e.id}: ${quote(e.old)} → ${quote(e.new)}`);
    }
  } else {
    out.push(
      `Guardrails: none would trip (known catalog ${g.knownProducts} products, ${g.recentFiles} recent files).`,
    );
  }
  for (const s of g.skipped) out.push(`  (${s.rule} not applied: ${s.why})`);
  return `${out.join('\n')}\n`;
}

function quote(v: string | null): string {
  return v === null ? '(none)' : JSON.stringify(v);
}
