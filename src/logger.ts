import winston from 'winston';

/**
 * Secrets registered here are masked in every log line, whatever field or nesting they hide in.
 * The logger is the last line of defence; code should not put secrets in messages in the first place.
 */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; real tokens are long.
  if (value && value.length >= 8) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[REDACTED]');
  // Graph tokens start with EAA; catch ones that were never registered (e.g. pasted into a URL).
  return out
    .replace(/\bEAA[A-Za-z0-9]{20,}\b/g, '[REDACTED]')
    .replace(/(access_token=)[^&\s"]+/g, '$1[REDACTED]');
}

/** How an Error appears in a log line (JSON.stringify would print `{}` and lose the reason). */
export interface LoggedError {
  name: string;
  message: string;
  /** Node's `code` (ECONNREFUSED), Meta's error code (GraphApiError), an AWS error code… */
  code?: string | number;
  /** GraphApiError's kind (auth, throttled, …). */
  kind?: string;
  fbtraceId?: string;
  cause?: unknown;
  /** AggregateError's errors (a failed connect to every address of a host). */
  errors?: unknown[];
  /** Only when the logger logs at debug level. */
  stack?: string;
}

const MAX_DEPTH = 10;

interface WalkOptions {
  stacks: boolean;
}

/**
 * A value as it may go into a log line: every Error, at any depth (fields, arrays, causes), becomes a
 * LoggedError; every string is redacted (stacks and causes included); cycles, bigints and depth cannot
 * break the line. Objects with toJSON (Date, URL, Buffer) are taken through it first, so a URL's query
 * string is redacted too.
 */
export function loggable(value: unknown, options: WalkOptions = { stacks: false }): unknown {
  return walk(value, options, 0, new WeakSet());
}

function walk(value: unknown, o: WalkOptions, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return errorFields(value, o, depth, seen);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(value), o, depth + 1, seen);
    if (Array.isArray(value)) return value.map((v) => walk(v, o, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, o, depth + 1, seen);
    return out;
  } finally {
    // A value seen twice in different branches (not a cycle) is printed both times.
    seen.delete(value);
  }
}

function errorFields(err: Error, o: WalkOptions, depth: number, seen: WeakSet<object>): LoggedError {
  const e = err as Error & Record<string, unknown>;
  const out: LoggedError = {
    name: redact(typeof e.name === 'string' && e.name !== '' ? e.name : 'Error'),
    message: redact(typeof e.message === 'string' ? e.message : String(e.message)),
  };
  if (typeof e.code === 'string' || typeof e.code === 'number')
    out.code = typeof e.code === 'string' ? redact(e.code) : e.code;
  if (typeof e.kind === 'string') out.kind = e.kind;
  if (typeof e.fbtraceId === 'string') out.fbtraceId = e.fbtraceId;
  if (e.cause !== undefined) out.cause = walk(e.cause, o, depth + 1, seen);
  if (err instanceof AggregateError && Array.isArray(err.errors)) {
    out.errors = err.errors.map((x: unknown) => walk(x, o, depth + 1, seen));
  }
  if (o.stacks && typeof e.stack === 'string') out.stack = redact(e.stack);
  return out;
}

/**
 * Turns every field of a log line into something JSON shows faithfully (loggable above). The stack of an
 * Error logged on its own (`logger.error(err)`, lifted to `info.stack` by winston) follows the same rule:
 * only at debug level.
 */
const loggableFormat = winston.format((info, options?: unknown) => {
  const opts = (options as WalkOptions | undefined) ?? { stacks: false };
  const fields = info as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key === 'stack' && !opts.stacks) {
      delete fields[key];
      continue;
    }
    fields[key] = walk(fields[key], opts, 0, new WeakSet());
  }
  return info;
});

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** Extra fields on every line, e.g. { component: 'worker' }. */
  defaultMeta?: Record<string, unknown>;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture them. */
  stream?: NodeJS.WritableStream;
}

/** Stacks are noise in production logs and can be long; they are shown when debugging. */
function logsStacks(level: string): boolean {
  const levels = winston.config.npm.levels;
  return (levels[level] ?? 0) >= levels.debug!;
}

/** One JSON object per line on stdout: what CloudWatch Logs and `jq` both read well. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const stacks = logsStacks(level);
  return winston.createLogger({
    level,
    defaultMeta: options.defaultMeta,
    format: winston.format.combine(
      winston.format.errors({ stack: stacks, cause: true }),
      winston.format.timestamp(),
      loggableFormat({ stacks }),
      winston.format.json(),
    ),
    transports: [
      options.stream
        ? new winston.transports.Stream({ stream: options.stream })
        : new winston.transports.Console({ stderrLevels: [] }),
    ],
  });
}

/** A logger that drops everything, for unit tests of code that logs. */
export function silentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
