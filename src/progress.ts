/**
 * A live progress line for long commands (`validate`, `redrive`, `put --wait`): how much is done, the
 * rate and the time left, redrawn in place on stderr. Only on a terminal: with `--json`, or when stderr is
 * a file or a pipe, it writes nothing at all, so logs and machine-read output stay clean. Lines that must
 * stay (a problem, a result) go through `note()`, which clears the live line, prints and redraws.
 *
 * No timers: the line is redrawn when the caller reports (at most every `minRedrawMs`), so a test drives
 * it with a fake stream and a fake clock.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** What is being done, e.g. `validate products.csv`. */
  label: string;
  /** What is counted: `rows`, `messages`, `items`, or `bytes` (shown as kB/MB). */
  unit: string;
  /** How many there are in all, when known (the ETA needs it). */
  total?: number | null;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** False forces it off (e.g. with --json); default: on when the stream is a TTY. */
  enabled?: boolean;
  now?: () => number;
  minRedrawMs?: number;
}

export interface Progress {
  /** True when it draws (a TTY and not switched off). */
  readonly active: boolean;
  /** Sets how much is done (absolute), and optionally the total and a short status word. */
  update(done: number, extra?: { total?: number | null; status?: string }): void;
  /** Adds to what is done. */
  add(n?: number): void;
  /** A line that stays: printed above the live line on a TTY, not at all otherwise (see `alwaysNote`). */
  note(line: string): void;
  /** Clears the live line. */
  finish(): void;
}

export interface ProgressSnapshot {
  label: string;
  unit: string;
  done: number;
  total: number | null;
  elapsedMs: number;
  /** Per second, over the recent past; null until there is enough to tell. */
  rate: number | null;
  status?: string;
}

const RATE_WINDOW_MS = 10_000;

/** Human units: 1.2 kB, 3.4 MB (decimal, like file managers). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** 42 s, 3 min 05 s, 2 h 07 min. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function count(n: number, unit: string): string {
  return unit === 'bytes' ? formatBytes(n) : n.toLocaleString('en-US');
}

/** The text of the line (no control characters), e.g. `validate a.csv: 1,200 of 5,000 rows (24%), 400 rows/s, ETA 10 s`. */
export function formatProgress(s: ProgressSnapshot): string {
  const parts: string[] = [];
  const unitWord = s.unit === 'bytes' ? '' : ` ${s.unit}`;
  if (s.total !== null && s.total > 0) {
    const pct = Math.min(100, Math.floor((s.done * 100) / s.total));
    parts.push(`${count(s.done, s.unit)} of ${count(s.total, s.unit)}${unitWord} (${pct}%)`);
  } else {
    parts.push(`${count(s.done, s.unit)}${unitWord}`);
  }
  if (s.rate !== null) {
    const rate =
      s.unit === 'bytes'
        ? `${formatBytes(s.rate)}/s`
        : `${s.rate < 10 ? s.rate.toFixed(1) : Math.round(s.rate)} ${s.unit}/s`;
    parts.push(rate);
    if (s.total !== null && s.total > s.done && s.rate > 0)
      parts.push(`ETA ${formatDuration(((s.total - s.done) / s.rate) * 1000)}`);
  }
  parts.push(`${formatDuration(s.elapsedMs)} elapsed`);
  const status = s.status ? ` [${s.status}]` : '';
  return `${s.label}${status}: ${parts.join(', ')}`;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const active = options.enabled !== false && stream.isTTY === true;
  const now = options.now ?? Date.now;
  const minRedrawMs = options.minRedrawMs ?? 100;
  const started = now();
  let done = 0;
  let total = options.total ?? null;
  let status: string | undefined;
  let lastDraw = -Infinity;
  let shown = false;
  // (time, done) samples of the recent past, for a rate that follows changes of pace.
  const samples: { at: number; done: number }[] = [{ at: started, done: 0 }];

  const rate = (at: number): number | null => {
    while (samples.length > 2 && samples[0]!.at < at - RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const span = at - first.at;
    if (span < 500 || done === first.done) return done > 0 && span >= 500 ? 0 : null;
    return ((done - first.done) * 1000) / span;
  };

  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };

  const draw = (force: boolean) => {
    if (!active) return;
    const at = now();
    if (!force && at - lastDraw < minRedrawMs) return;
    lastDraw = at;
    const text = formatProgress({
      label: options.label,
      unit: options.unit,
      done,
      total,
      elapsedMs: at - started,
      rate: rate(at),
      status,
    });
    const width = stream.columns && stream.columns > 10 ? stream.columns - 1 : 200;
    stream.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    shown = true;
  };

  return {
    active,
    update(n, extra) {
      done = n;
      if (extra?.total !== undefined) total = extra.total;
      if (extra?.status !== undefined) status = extra.status;
      const at = now();
      if (samples[samples.length - 1]!.done !== n) samples.push({ at, done: n });
      draw(false);
    },
    add(n = 1) {
      this.update(done + n);
    },
    note(line) {
      if (!active) return;
      clear();
      stream.write(`${line}\n`);
      draw(true);
    },
    finish() {
      if (!active) return;
      clear();
    },
  };
}
