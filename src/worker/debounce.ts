/**
 * When a window flushes: pure arithmetic over times the caller passes in, so it can be tested without
 * timers. A window is due after `quietMs` without a new file, at the latest `maxHoldMs` after its first
 * file, or as soon as it holds `maxItems` distinct products.
 */

export interface DebounceTiming {
  quietMs: number;
  maxHoldMs: number;
  maxItems: number;
}

export interface WindowActivity {
  /** When the window received its first file. */
  openedAt: number;
  /** When it last received a file. */
  lastFileAt: number;
  /** Distinct products it holds. */
  items: number;
}

export type FlushReason = 'quiet' | 'max-hold' | 'max-items' | 'shutdown' | 'backpressure' | 'resumed';

/** The time at which the window becomes due by the clock (item count aside). */
export function dueAt(activity: WindowActivity, timing: DebounceTiming): number {
  return Math.min(activity.lastFileAt + timing.quietMs, activity.openedAt + timing.maxHoldMs);
}

/** Why the window should flush now, or null when it may stay open. */
export function flushReason(
  activity: WindowActivity,
  now: number,
  timing: DebounceTiming,
): FlushReason | null {
  if (activity.items >= timing.maxItems) return 'max-items';
  if (now >= activity.openedAt + timing.maxHoldMs) return 'max-hold';
  if (now >= activity.lastFileAt + timing.quietMs) return 'quiet';
  return null;
}

export function recordFile(activity: WindowActivity | null, now: number, items: number): WindowActivity {
  return { openedAt: activity?.openedAt ?? now, lastFileAt: now, items };
}
