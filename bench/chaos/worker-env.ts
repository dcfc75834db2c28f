import { envFor } from '../../tools/local-aws/local-aws.ts';
import { REORDER_HOLD_MS } from './fault-deck.ts';

/** How long the simulator takes to process a batch in a chaos run. */
export const PROCESSING_MS = 500;

/**
 * The environment of a chaos worker: the deployed stack on moto, the simulator as Meta, and timings
 * scaled down so a round sees debounce windows, polls, leases and retries.
 */
export function chaosWorkerEnv(options: {
  motoEndpoint: string;
  outputs: Record<string, string>;
  graphUrl: string;
  catalogId: string;
  token: string;
}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...envFor(options.motoEndpoint, options.outputs),
    META_GRAPH_URL: options.graphUrl,
    META_CATALOG_ID: options.catalogId,
    META_ACCESS_TOKEN: options.token,
    CATALOG_CURRENCY: 'USD',
    // Meta's documented floor: an ETA-0 refusal must not stall a worker that believes it.
    META_HOURLY_CALL_BUDGET: '200',
    DEBOUNCE_QUIET_MS: '500',
    DEBOUNCE_MAX_HOLD_MS: '5000',
    VISIBILITY_TIMEOUT_S: '10',
    STATUS_POLL_INITIAL_MS: '200',
    STATUS_POLL_MAX_MS: '1000',
    META_MAX_RETRIES: '4',
    SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'info',
    // Timings of the send gate and lease, scaled to this run (ignored by a worker that does not know them).
    LEASE_TTL_MS: '3000',
    UNSENT_SETTLE_MS: String(PROCESSING_MS + REORDER_HOLD_MS + 1500),
    UNKNOWN_RETRY_BASE_MS: '300',
    UNKNOWN_RETRY_MAX: '10',
    THROTTLE_RETRY_MIN_MS: '200',
    THROTTLE_RETRY_MAX_MS: '2000',
    AUTH_PROBE_INTERVAL_MS: '1000',
    // A guardrail hold waits for an operator (release/discard); chaos judges failures, not guardrails.
    GUARDRAILS_ENABLED: 'false',
  };
}
