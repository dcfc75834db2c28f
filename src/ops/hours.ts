/** The UTC-hour folder names the storage layout uses: `YYYY-MM-DDTHH`. */

const HOUR_MS = 3_600_000;

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
