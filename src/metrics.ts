import { Console } from 'node:console';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics as Embedded Metric Format (EMF): one JSON object per line on stdout, which the
 * awslogs driver sends to CloudWatch Logs, which turns it into metrics. No agent or sidecar is needed.
 *
 * Powertools is used only to build the EMF object (`serializeMetrics`): this module owns the buffer and
 * the output stream, so lines never pass through winston (whose formats would rewrite them) and tests can
 * capture them. Names and units below are the contract with the alarms in infra/observability.yml.
 */

/**
 * - `counter`: values added between two flushes are summed into one value per line.
 * - `sample`: every recorded value is kept, so CloudWatch sees the distribution (min, max, percentiles).
 */
type MetricKind = 'counter' | 'sample';
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

export const METRICS = {
  /** Landing files whose rows were read (bad files included). */
  FilesProcessed: { unit: MetricUnit.Count, kind: 'counter' },
  RowsValid: { unit: MetricUnit.Count, kind: 'counter' },
  RowsRejected: { unit: MetricUnit.Count, kind: 'counter' },
  /** Items put in items_batch requests. */
  ItemsSent: { unit: MetricUnit.Count, kind: 'counter' },
  /** Items Meta's check_batch_request_status reported as accepted or rejected. */
  ItemsAccepted: { unit: MetricUnit.Count, kind: 'counter' },
  ItemsRejected: { unit: MetricUnit.Count, kind: 'counter' },
  /** items_batch calls made (each one spends the catalog's hourly quota). */
  BatchCalls: { unit: MetricUnit.Count, kind: 'counter' },
  /** The worker's own count of items_batch calls left in the rolling hour. */
  CallBudgetRemaining: { unit: MetricUnit.Count, kind: 'sample' },
  /** Graph API answers that asked us to slow down (80014, 429, usage headers over the limit). */
  Throttles: { unit: MetricUnit.Count, kind: 'counter' },
  /** From the S3 event time of a file to Meta accepting its batch. */
  EndToEndLatencyMs: { unit: MetricUnit.Milliseconds, kind: 'sample' },
  /** SQS messages held across open debounce windows. */
  HeldMessages: { unit: MetricUnit.Count, kind: 'sample' },
  FlushDurationMs: { unit: MetricUnit.Milliseconds, kind: 'sample' },
  /** Graph API answers that refused the token (submissions stop until restart). */
  AuthFailures: { unit: MetricUnit.Count, kind: 'counter' },
  /**
   * One per window that reached a final state at Meta, and per window that had nothing to send (header-only
   * files): "the pipeline is alive and caught up". The "no successful sync in N hours" alarm counts these.
   */
  SyncSucceeded: { unit: MetricUnit.Count, kind: 'counter' },
  /** One a minute while submissions are halted on refused credentials: its alarm stays in ALARM meanwhile. */
  SubmissionsHalted: { unit: MetricUnit.Count, kind: 'counter' },
  /** Items whose fate at Meta is still unknown after the automatic resends (their files stay in landing/). */
  ItemsUnknownFate: { unit: MetricUnit.Count, kind: 'counter' },
  /** A window waiting for the call budget or a throttling answer before its next items_batch call. */
  BudgetWaitMs: { unit: MetricUnit.Milliseconds, kind: 'sample' },
  /** Once a minute: age of the oldest file the worker holds and has not got accepted yet (0 when none). */
  OldestHeldFileAgeSeconds: { unit: MetricUnit.Seconds, kind: 'sample' },
  /** A window a guardrail held (manifest `held`): nothing was sent; it waits for `release` or `discard`. */
  WindowsHeld: { unit: MetricUnit.Count, kind: 'counter' },
  /** Items a drift check found out of step with Meta (stale, missing at Meta, orphans). */
  DriftItemsOutOfStep: { unit: MetricUnit.Count, kind: 'counter' },
} as const satisfies Record<string, { unit: Unit; kind: MetricKind }>;

export type MetricName = keyof typeof METRICS;
type NamesOfKind<K extends MetricKind> = {
  [N in MetricName]: (typeof METRICS)[N]['kind'] extends K ? N : never;
}[MetricName];
export type CounterName = NamesOfKind<'counter'>;
export type SampleName = NamesOfKind<'sample'>;

/** The `service` dimension the worker publishes under; the alarms select it. */
export const WORKER_SERVICE = 'worker';

/**
 * EMF allows 100 values of one metric per line, and Powertools prints a line to process.stdout by itself
 * when a metric reaches 100: staying one below keeps every line on our stream.
 */
const MAX_VALUES_PER_LINE = 99;

export interface ServiceMetrics {
  count(name: CounterName, by?: number): void;
  record(name: SampleName, value: number): void;
  /**
   * Writes what was recorded since the last flush and clears it. `context` goes into each line as
   * properties that are not metrics (window, manifest id…), searchable in CloudWatch Logs Insights.
   * Writes nothing when nothing was recorded.
   */
  flush(context?: Record<string, string | number>): void;
}

interface WarnLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface MetricsOptions {
  namespace: string;
  service: string;
  /** Where EMF lines go; stdout by default. */
  stream?: NodeJS.WritableStream;
  /** Powertools' own warnings (never metric lines); stderr by default so stdout stays one format per line. */
  logger?: WarnLogger;
  now?: () => number;
}

export function createMetrics(options: MetricsOptions): ServiceMetrics {
  const stream = options.stream ?? process.stdout;
  const now = options.now ?? Date.now;
  const emf = new Metrics({
    namespace: options.namespace,
    serviceName: options.service,
    logger: options.logger ?? new Console({ stdout: process.stderr, stderr: process.stderr }),
  });
  const counters = new Map<CounterName, number>();
  const samples = new Map<SampleName, number[]>();

  const checkValue = (name: MetricName, value: number) => {
    if (!Number.isFinite(value)) throw new RangeError(`metric ${name}: ${value} is not a finite number`);
  };

  const writeLine = (values: Iterable<[MetricName, number]>, context: Record<string, string | number>) => {
    let line: string;
    try {
      for (const [key, value] of Object.entries(context)) emf.addMetadata(key, String(value));
      for (const [name, value] of values) emf.addMetric(name, METRICS[name].unit, value);
      emf.setTimestamp(now());
      line = JSON.stringify(emf.serializeMetrics());
    } finally {
      emf.clearMetrics();
      emf.clearMetadata();
    }
    stream.write(`${line}\n`);
  };

  return {
    count(name, by = 1) {
      checkValue(name, by);
      if (by < 0) throw new RangeError(`metric ${name}: a counter cannot go down (${by})`);
      counters.set(name, (counters.get(name) ?? 0) + by);
    },
    record(name, value) {
      checkValue(name, value);
      const list = samples.get(name);
      if (list) list.push(value);
      else samples.set(name, [value]);
    },
    flush(context = {}) {
      if (counters.size === 0 && samples.size === 0) return;
      // Line i carries the i-th slice of values of every sample, and the counters in the first line.
      const slices = Math.max(
        1,
        ...[...samples.values()].map((v) => Math.ceil(v.length / MAX_VALUES_PER_LINE)),
      );
      const lines: [MetricName, number][][] = [];
      for (let i = 0; i < slices; i++) {
        const values: [MetricName, number][] = i === 0 ? [...counters] : [];
        for (const [name, list] of samples) {
          for (const v of list.slice(i * MAX_VALUES_PER_LINE, (i + 1) * MAX_VALUES_PER_LINE))
            values.push([name, v]);
        }
        if (values.length > 0) lines.push(values);
      }
      // Cleared first: a line that cannot be written must not be retried (and fail) on every later flush.
      counters.clear();
      samples.clear();
      for (const values of lines) writeLine(values, context);
    },
  };
}
