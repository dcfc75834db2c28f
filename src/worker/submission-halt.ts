import type { Logger } from '../logger.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { SubmissionHaltedError } from './errors.ts';

/**
 * The halted state after Meta refused the credentials: says so loudly every AUTH_ALERT_INTERVAL_MS with
 * a metric every minute, and probes cheaply every AUTH_PROBE_INTERVAL_MS (re-reading a rotated token
 * first) until the token works, then calls `onAccepted`. What a halt stops (receiving, sending) and
 * keeps (held messages, parked windows) is the lifecycle's business (worker.ts).
 */

export interface SubmissionHaltOptions {
  client: Pick<CatalogClient, 'refreshCredentials' | 'probe'>;
  logger: Logger;
  metrics: ServiceMetrics | undefined;
  authAlertIntervalMs: number;
  authProbeIntervalMs: number;
  /** The probe succeeded: submissions may resume. */
  onAccepted: () => void;
  /** The worker is stopping: no more probes (alarms go on until `stop`). */
  stopping: () => boolean;
}

export class SubmissionHalt {
  readonly #o: SubmissionHaltOptions;
  #cause: SubmissionHaltedError | null = null;
  #stopped = false;
  #alarmTimer: NodeJS.Timeout | undefined;
  #metricTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;

  constructor(options: SubmissionHaltOptions) {
    this.#o = options;
  }

  get cause(): SubmissionHaltedError | null {
    return this.#cause;
  }

  /** Enters the halted state; false when it was halted already. */
  begin(err: SubmissionHaltedError): boolean {
    if (this.#cause) return false;
    this.#cause = err;
    const { logger, metrics } = this.#o;
    const fields = {
      alert: 'meta-credentials-refused',
      errorKind: err.graph.kind,
      code: err.graph.code,
      subcode: err.graph.subcode,
      fbtraceId: err.graph.fbtraceId,
    };
    const alarm = () =>
      logger.error(
        'SUBMISSIONS HALTED: Meta refused the access token or its permissions. No items_batch calls are made ' +
          'and no messages are received; the work is kept (held messages stay held, the rest stays queued). ' +
          'The worker checks the token every ' +
          `${Math.round(this.#o.authProbeIntervalMs / 1000)} s and resumes by itself once it works.`,
        fields,
      );
    const halted = () => {
      metrics?.count('SubmissionsHalted');
      metrics?.flush({ alert: 'meta-credentials-refused' });
    };
    alarm();
    this.#alarmTimer = setInterval(alarm, this.#o.authAlertIntervalMs);
    this.#metricTimer = setInterval(halted, 60_000);
    metrics?.count('AuthFailures');
    halted();
    this.#scheduleProbe();
    return true;
  }

  /** Leaves the halted state (the probe succeeded). */
  end(): void {
    this.#cause = null;
    this.#clearTimers();
  }

  /** Shutdown: no more alarms or probes, whatever the state. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
  }

  #clearTimers(): void {
    clearInterval(this.#alarmTimer);
    clearInterval(this.#metricTimer);
    clearTimeout(this.#probeTimer);
  }

  #scheduleProbe(): void {
    clearTimeout(this.#probeTimer);
    if (this.#stopped || this.#o.stopping()) return;
    this.#probeTimer = setTimeout(() => void this.#probe(), this.#o.authProbeIntervalMs);
  }

  async #probe(): Promise<void> {
    if (!this.#cause || this.#stopped || this.#o.stopping()) return;
    try {
      await this.#o.client.refreshCredentials();
      await this.#o.client.probe();
    } catch (err) {
      const kind = err instanceof GraphApiError ? err.kind : 'unknown';
      this.#o.logger.info('credentials probe: still refused or unreachable; submissions stay halted', {
        errorKind: kind,
        err,
      });
      return this.#scheduleProbe();
    }
    this.#o.onAccepted();
  }
}
