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

const redactFormat = winston.format((info) => {
  const masked = JSON.parse(redact(JSON.stringify(info))) as winston.Logform.TransformableInfo;
  for (const key of Object.keys(info)) delete (info as Record<string, unknown>)[key];
  Object.assign(info, masked);
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

/** One JSON object per line on stdout: what CloudWatch Logs and `jq` both read well. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return winston.createLogger({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    defaultMeta: options.defaultMeta,
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      redactFormat(),
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
