import type { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../config.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import { createStateStore } from '../state/state-store.ts';

/**
 * The live product state for the operator commands (plan, state export, release --dry-run): the store
 * STATE_STORE names (S3 shards or DynamoDB), the synced bucket for payloads and the guardrail history.
 */
export interface LiveState {
  s3: S3Client;
  bucket: string;
  syncedPrefix: string;
  state: ProductStateStore;
  /** Where it was read, for reports. */
  describe: string;
}

export function liveState(env: NodeJS.ProcessEnv, s3: S3Client): LiveState {
  const c = loadConfig(env, ['awsRegion', 'syncedBucket', 'syncedPrefix', 'stateStore', 'stateTable']);
  const state = createStateStore(c, { s3 });
  const where = `s3://${c.syncedBucket}/${c.syncedPrefix}`;
  return {
    s3,
    bucket: c.syncedBucket,
    syncedPrefix: c.syncedPrefix,
    state,
    describe: c.stateStore === 's3' ? where : `DynamoDB table ${c.stateTable} (and ${where})`,
  };
}
