/**
 * UTC hour windows. Events are grouped by the hour of their S3 event time; manifests and reports of a
 * window live under a folder named for that hour, so the DAG can list one hour at a time.
 */

const HOUR_MS = 3_600_000;

/** Start of the UTC hour holding `ms`, e.g. 2026-11-25T17:00:00Z. */
export function windowOf(ms: number): string {
  return `${new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13)}:00:00Z`;
}

/** Folder name of a window in the storage layout: 2026-11-25T17. */
export function windowFolder(window: string): string {
  return window.slice(0, 13);
}

/** The window `hours` before the given one (negative for later). */
export function windowBefore(window: string, hours = 1): string {
  return windowOf(Date.parse(window) - hours * HOUR_MS);
}

/**
 * Parses an S3 event time. Real S3 sends `2026-11-25T17:00:00.123Z`; moto sends no zone and microseconds
 * (`2026-11-25T17:00:00.123456`). Both are UTC. Returns null for anything else.
 */
export function parseEventTime(raw: unknown): number | null {
  if (typeof raw !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  if (!m) return null;
  const fraction = m[2] ? m[2].slice(0, 4).padEnd(4, '0') : '';
  const zone = m[3] ?? 'Z';
  const ms = Date.parse(`${m[1]}${fraction}${zone}`);
  return Number.isNaN(ms) ? null : ms;
}

/** The hour folder name of a moment, `YYYY-MM-DDTHH` (the same as `windowFolder(windowOf(ms))`). */
export function hourKey(d: Date): string {
  return d.toISOString().slice(0, 13);
}

/** The last `n` hours up to and including the current one, newest first. */
export function recentHours(now: Date, n: number): string[] {
  const start = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return Array.from({ length: n }, (_, i) => hourKey(new Date(start - i * HOUR_MS)));
}

/** The hour folder a key sits in (`…/<YYYY-MM-DDTHH>/<name>`), or null. */
export function hourOfKey(key: string): string | null {
  return /\/(\d{4}-\d{2}-\d{2}T\d{2})\/[^/]+$/.exec(key)?.[1] ?? null;
}
