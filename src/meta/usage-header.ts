/**
 * X-Business-Use-Case-Usage: a JSON string keyed by business-object id, each key an array of
 * {type, call_count, total_cputime, total_time, estimated_time_to_regain_access}. The three counts are
 * percentages of the quota; the ETA is in minutes.
 *
 * Open question (open question 5 in src/meta/README.md): the exact `type` string of the catalog buckets and which business id
 * keys the header are unverified. Chosen behaviour: do not depend on either. Every entry under every key
 * is read, and the most pessimistic values win (highest percentage of any of the three meters, longest
 * ETA). The client only feeds the budget with headers from items_batch responses, so the status-read
 * (Catalog Management) bucket cannot slow down uploads.
 */

export const BUC_HEADER = 'x-business-use-case-usage';

export interface BucEntry {
  key: string;
  type: string | null;
  callCount: number;
  totalCputime: number;
  totalTime: number;
  etaMinutes: number;
}

export interface BucUsage {
  entries: BucEntry[];
  /** Highest of call_count, total_cputime and total_time over all entries, in percent. */
  pct: number;
  /** Highest estimated_time_to_regain_access, in minutes. */
  etaMinutes: number;
}

const num = (v: unknown): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
};

/** Null for an absent or unreadable header: a malformed header must never break a call. */
export function parseBucUsage(raw: string | null | undefined): BucUsage | null {
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const entries: BucEntry[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    const list = Array.isArray(value) ? value : [value];
    for (const e of list) {
      if (typeof e !== 'object' || e === null) continue;
      const o = e as Record<string, unknown>;
      entries.push({
        key,
        type: typeof o.type === 'string' ? o.type : null,
        callCount: num(o.call_count),
        totalCputime: num(o.total_cputime),
        totalTime: num(o.total_time),
        etaMinutes: num(o.estimated_time_to_regain_access),
      });
    }
  }
  if (entries.length === 0) return null;
  return {
    entries,
    pct: Math.max(...entries.map((e) => Math.max(e.callCount, e.totalCputime, e.totalTime))),
    etaMinutes: Math.max(...entries.map((e) => e.etaMinutes)),
  };
}

/** Builds a header value (the simulator's side). */
export function formatBucUsage(
  key: string,
  type: string,
  usage: { callCount: number; totalCputime?: number; totalTime?: number; etaMinutes: number },
): string {
  return JSON.stringify({
    [key]: [
      {
        type,
        call_count: usage.callCount,
        total_cputime: usage.totalCputime ?? 0,
        total_time: usage.totalTime ?? 0,
        estimated_time_to_regain_access: usage.etaMinutes,
      },
    ],
  });
}
