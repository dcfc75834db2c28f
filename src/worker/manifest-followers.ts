import type { Logger } from '../logger.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { AbortedError } from '../shared/backoff.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { asHalted, decideError } from './error-policy.ts';
import type { SubmissionHaltedError } from './errors.ts';
import type { Manifest } from '../contract/manifest.ts';
import { pollManifest, type PollDeps, type PollOutcome } from './status-poller.ts';

/**
 * The status polls running in the background, at most one per manifest (status-poller.ts polls). A refused
 * token halts the worker; any other failure is left to a later re-check.
 */

export interface ManifestFollowersOptions {
  poll: PollDeps;
  logger: Logger;
  metrics: ServiceMetrics | undefined;
  signal: () => AbortSignal;
  halt: (err: SubmissionHaltedError) => void;
  finished: (finished: { manifestKey: string; manifestId: string; outcome: PollOutcome }) => void;
  failed: (err: unknown) => void;
}

export class ManifestFollowers {
  readonly #o: ManifestFollowersOptions;
  readonly #polls = new Map<string, Promise<void>>();

  constructor(options: ManifestFollowersOptions) {
    this.#o = options;
  }

  /** Polls a submitted manifest to its final state in the background (once per manifest). */
  follow(key: string, manifest: Versioned<Manifest>, extraRetries = 0): Promise<void> {
    const running = this.#polls.get(key);
    if (running) return running;
    const o = this.#o;
    const { manifestId, window } = manifest.value;
    const log = o.logger.child({ manifestId, window });
    const p = pollManifest(o.poll, key, manifest, o.signal(), { extraRetries })
      .then((outcome) => {
        if (outcome === 'finished') o.metrics?.count('SyncSucceeded');
        o.metrics?.flush({ manifestId });
        o.finished({ manifestKey: key, manifestId, outcome });
      })
      .catch((err: unknown) => {
        const decision = decideError(err);
        if (decision.kind === 'halt') o.halt(asHalted(err, decision.graph));
        else if (!(err instanceof AbortedError)) {
          log.error('status polling failed; a later re-check finishes it', { err });
          o.failed(err);
        }
      })
      .finally(() => this.#polls.delete(key));
    this.#polls.set(key, p);
    return p;
  }

  /** Settles when every poll running now has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#polls.values()]);
  }
}
