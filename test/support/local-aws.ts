import { randomBytes } from 'node:crypto';
import { deployTemplate, localClients, type AwsClients } from '../../tools/local-aws/provision.ts';

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
