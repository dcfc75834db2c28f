import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * SDK clients for the operator commands. With AWS_ENDPOINT_URL (a local emulator) the endpoint is passed
 * explicitly: otherwise the SQS client sends to the host in the queue URL, and emulators hand out
 * real-looking ones (sqs.us-east-1.amazonaws.com). An emulator on an IP address also cannot serve
 * virtual-hosted bucket names, hence path-style.
 */
export function opsClients(
  region: string,
  env: NodeJS.ProcessEnv = process.env,
): { sqs: SQSClient; s3: S3Client } {
  const sqsEndpoint = env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL || undefined;
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    sqs: new SQSClient({ region, endpoint: sqsEndpoint }),
    s3: new S3Client({ region, endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined }),
  };
}
