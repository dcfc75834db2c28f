import { envFor } from '../tools/local-aws/local-aws.ts';

/**
 * The environment of a benchmarked worker (in process or as a process): the local stack, the simulator as
 * Meta, and the timings the benchmark uses. Each benchmark adds what is its own (call budget, window size).
 */
export function benchWorkerEnv(options: {
  endpoint: string;
  outputs: Record<string, string>;
  graphUrl: string;
  token: string;
  stateStore: 's3' | 'dynamodb';
}): Record<string, string> {
  return {
    ...envFor(options.endpoint, options.outputs),
    STATE_STORE: options.stateStore,
    META_GRAPH_URL: options.graphUrl,
    META_CATALOG_ID: '1',
    META_ACCESS_TOKEN: options.token,
    CATALOG_CURRENCY: 'USD',
    COLUMN_MAP: '{"gtin":"gtin"}',
    DEBOUNCE_QUIET_MS: '2000',
    STATUS_POLL_INITIAL_MS: '1000',
    STATUS_POLL_MAX_MS: '5000',
  };
}
