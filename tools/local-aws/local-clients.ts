import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** The AWS clients local provisioning and the tests use, all pointed at one moto endpoint. */
export interface AwsClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
}

export function localClients(endpoint: string, region = 'us-east-1'): AwsClients {
  const common = {
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  return {
    cfn: new CloudFormationClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    sqs: new SQSClient(common),
    dynamodb: new DynamoDBClient(common),
  };
}
