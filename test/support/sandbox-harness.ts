import { randomBytes } from 'node:crypto';
import { deployTemplate, localClients, type AwsClients } from '../../tools/local-aws/provision.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../tools/simulator/index.ts';

/**
 * The one moto + simulator set-up of the tests: a stack deployed from infra/storage.yml on the moto server
 * the mocha root hook (test/hooks.ts) starts, and the catalog simulator over real HTTP. Suites isolate
 * themselves by stage name (a fresh one per deploy), so they share moto and never each other's queues.
 */

export interface TestStack {
  endpoint: string;
  stage: string;
  clients: AwsClients;
  outputs: Record<string, string>;
  landingBucket: string;
  syncedBucket: string;
  queueUrl: string;
  dlqUrl: string;
}

export function motoEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint)
    throw new Error('AWS_ENDPOINT_URL is not set: the mocha root hook (test/hooks.ts) starts moto');
  return endpoint;
}

/** Deploys infra/storage.yml under a fresh stage, so each suite has its own buckets and queues. */
export async function deployTestStack(
  label = 't',
  parameters: Record<string, string> = {},
): Promise<TestStack> {
  const endpoint = motoEndpoint();
  const stage = `${label}-${randomBytes(3).toString('hex')}`.toLowerCase().slice(0, 20);
  const clients = localClients(endpoint);
  const { outputs } = await deployTemplate({
    clients,
    stackName: `catalog-sync-${stage}`,
    parameters: { Stage: stage, ...parameters },
  });
  return {
    endpoint,
    stage,
    clients,
    outputs,
    landingBucket: outputs.LandingBucketName!,
    syncedBucket: outputs.SyncedBucketName!,
    queueUrl: outputs.QueueUrl!,
    dlqUrl: outputs.DeadLetterQueueUrl!,
  };
}

/** A deployed stack and a running simulator; `stop` stops the simulator (moto belongs to the root hook). */
export interface Sandbox {
  stack: TestStack;
  sim: Simulator;
  stop(): Promise<void>;
}

/**
 * Deploys a test stack and starts the simulator that accepts `accessToken`. `simulator` passes the rest
 * of the simulator's options (processing delay, call budget…) through.
 */
export async function startSandbox(
  label: string,
  simulator: Partial<SimulatorOptions> & { accessToken: string },
  stackParameters: Record<string, string> = {},
): Promise<Sandbox> {
  const stack = await deployTestStack(label, stackParameters);
  const sim = await startSimulator(simulator);
  return { stack, sim, stop: () => sim.stop() };
}

/**
 * The environment a worker process (`catalog-sync worker`, or the image's entry point) needs to reach the
 * sandbox: moto's endpoint and local credentials, the stack's buckets and queues, the simulator as Graph.
 * Nothing else: the caller adds its timings.
 */
export function sandboxProcessEnv(
  sandbox: Pick<Sandbox, 'stack' | 'sim'>,
  meta: { catalogId: string; accessToken: string },
): Record<string, string> {
  const { stack, sim } = sandbox;
  return {
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    LANDING_BUCKET: stack.landingBucket,
    SYNCED_BUCKET: stack.syncedBucket,
    QUEUE_URL: stack.queueUrl,
    DLQ_URL: stack.dlqUrl,
    META_GRAPH_URL: sim.url,
    META_CATALOG_ID: meta.catalogId,
    META_ACCESS_TOKEN: meta.accessToken,
    CATALOG_CURRENCY: 'USD',
  };
}
