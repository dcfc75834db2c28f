import {
  type Event as S3EventName,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type LifecycleRule,
  type ObjectOwnership,
  type QueueConfiguration,
} from '@aws-sdk/client-s3';
import { UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { CfnTemplate } from './cfn-template.ts';
import type { AwsClients } from './local-clients.ts';

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

/**
 * Properties that moto's CloudFormation applies itself. Everything else in the template is either
 * applied below through the service APIs or makes provisioning fail: nothing is skipped quietly.
 */
const APPLIED_BY_CLOUDFORMATION: Record<string, readonly string[]> = {
  'AWS::S3::Bucket': ['BucketName', 'BucketEncryption', 'Tags'],
  'AWS::SQS::Queue': [
    'QueueName',
    'MaximumMessageSize',
    'MessageRetentionPeriod',
    'ReceiveMessageWaitTimeSeconds',
    'VisibilityTimeout',
    'SqsManagedSseEnabled',
    'RedrivePolicy',
    'DelaySeconds',
    'Tags',
  ],
  'AWS::DynamoDB::Table': [
    'TableName',
    'BillingMode',
    'AttributeDefinitions',
    'KeySchema',
    'SSESpecification',
    'Tags',
  ],
};

export type Applier = (
  clients: AwsClients,
  physicalId: string,
  value: unknown,
  resolved: Props,
  deviations: string[],
) => Promise<void>;
export type Props = Record<string, unknown>;

/** Per resource type and property: how the local path applies what moto's CloudFormation drops. */
export const APPLIED_THROUGH_APIS: Record<string, Record<string, Applier>> = {
  'AWS::S3::Bucket': {
    VersioningConfiguration: async ({ s3 }, bucket, v) => {
      const { Status } = v as { Status: 'Enabled' | 'Suspended' };
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
    },
    PublicAccessBlockConfiguration: async ({ s3 }, bucket, v) => {
      await s3.send(
        new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: v as Props }),
      );
    },
    OwnershipControls: async ({ s3 }, bucket, v) => {
      const rules = (v as { Rules: { ObjectOwnership: ObjectOwnership }[] }).Rules;
      await s3.send(
        new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: { Rules: rules } }),
      );
    },
    LifecycleConfiguration: async ({ s3 }, bucket, v) => {
      const rules = (v as { Rules: Props[] }).Rules.map(lifecycleRuleFromCfn);
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: rules },
        }),
      );
    },
    NotificationConfiguration: async ({ s3 }, bucket, v) => {
      const cfg = v as {
        QueueConfigurations?: Props[];
        TopicConfigurations?: unknown;
        LambdaConfigurations?: unknown;
      };
      if (cfg.TopicConfigurations || cfg.LambdaConfigurations) {
        throw new ProvisionError('only QueueConfigurations are supported by local provisioning');
      }
      const queues: QueueConfiguration[] = (cfg.QueueConfigurations ?? []).map((q) => ({
        QueueArn: String(q.Queue),
        Events: [q.Event as S3EventName],
        Filter: q.Filter
          ? {
              Key: {
                FilterRules: (
                  (q.Filter as { S3Key: { Rules: { Name: string; Value: string }[] } }).S3Key.Rules ?? []
                ).map((r) => ({ Name: r.Name as 'prefix' | 'suffix', Value: r.Value })),
              },
            }
          : undefined,
      }));
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: { QueueConfigurations: queues },
        }),
      );
    },
  },
  'AWS::S3::BucketPolicy': {
    Bucket: async () => {}, // consumed by PolicyDocument
    PolicyDocument: async ({ s3 }, _id, v, resolved, deviations) => {
      const doc = v as { Version?: string; Statement: Props[] };
      const { enforceable, notEnforceable } = splitByMotoConditionSupport(doc.Statement);
      for (const st of notEnforceable) {
        deviations.push(
          `bucket ${String(resolved.Bucket)}: statement ${String(st.Sid ?? '(no Sid)')} not applied locally: ` +
            `moto ignores ${conditionOperators(st).join('/')} conditions and would ${String(st.Effect).toLowerCase()} every request`,
        );
      }
      if (enforceable.length === 0) return;
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: String(resolved.Bucket),
          Policy: JSON.stringify({ ...doc, Statement: enforceable }),
        }),
      );
    },
  },
  'AWS::DynamoDB::Table': {
    PointInTimeRecoverySpecification: async ({ dynamodb }, table, v) => {
      const { PointInTimeRecoveryEnabled } = v as { PointInTimeRecoveryEnabled: boolean | string };
      await dynamodb.send(
        new UpdateContinuousBackupsCommand({
          TableName: table,
          PointInTimeRecoverySpecification: {
            PointInTimeRecoveryEnabled:
              PointInTimeRecoveryEnabled === true || PointInTimeRecoveryEnabled === 'true',
          },
        }),
      );
    },
  },
  'AWS::SQS::QueuePolicy': {
    Queues: async () => {}, // consumed by PolicyDocument
    PolicyDocument: async ({ sqs }, _id, v, resolved) => {
      for (const queueUrl of resolved.Queues as string[]) {
        await sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(v) } }),
        );
      }
    },
  },
};

/**
 * moto evaluates bucket policies on every object request but only understands StringEquals conditions:
 * any other operator is ignored, so a TLS-only Deny (Bool aws:SecureTransport) would deny everything
 * over the sandbox's plain HTTP. Such statements are reported as local deviations instead of applied.
 */
const MOTO_CONDITION_OPERATORS = new Set(['StringEquals']);

function conditionOperators(statement: Props): string[] {
  return Object.keys((statement.Condition as Props | undefined) ?? {});
}

function splitByMotoConditionSupport(statements: Props[]): { enforceable: Props[]; notEnforceable: Props[] } {
  const enforceable: Props[] = [];
  const notEnforceable: Props[] = [];
  for (const st of statements) {
    const unsupported = conditionOperators(st).some((op) => !MOTO_CONDITION_OPERATORS.has(op));
    (unsupported ? notEnforceable : enforceable).push(st);
  }
  return { enforceable, notEnforceable };
}

function lifecycleRuleFromCfn(rule: Props): LifecycleRule {
  const out: LifecycleRule = {
    ID: rule.Id as string | undefined,
    Status: rule.Status as 'Enabled' | 'Disabled',
    Filter: { Prefix: (rule.Prefix as string | undefined) ?? '' },
  };
  if (rule.ExpirationInDays !== undefined) out.Expiration = { Days: Number(rule.ExpirationInDays) };
  const ncv = rule.NoncurrentVersionExpiration as { NoncurrentDays: number } | undefined;
  if (ncv) out.NoncurrentVersionExpiration = { NoncurrentDays: Number(ncv.NoncurrentDays) };
  const abort = rule.AbortIncompleteMultipartUpload as { DaysAfterInitiation: number } | undefined;
  if (abort) out.AbortIncompleteMultipartUpload = { DaysAfterInitiation: Number(abort.DaysAfterInitiation) };
  const known = [
    'Id',
    'Status',
    'Prefix',
    'ExpirationInDays',
    'NoncurrentVersionExpiration',
    'AbortIncompleteMultipartUpload',
  ];
  const unknown = Object.keys(rule).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new ProvisionError(`lifecycle rule fields not supported locally: ${unknown.join(', ')}`);
  return out;
}

/**
 * Checks that every resource and property of the template is either applied by moto's CloudFormation
 * or by a handler above. Called before anything is created, so a template change that the local path
 * cannot honour fails at once with the names of what is missing.
 */
export function checkLocallyApplicable(template: CfnTemplate): void {
  const missing: string[] = [];
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    const byCfn = APPLIED_BY_CLOUDFORMATION[res.Type] ?? [];
    const byApi = APPLIED_THROUGH_APIS[res.Type] ?? {};
    if (!(res.Type in APPLIED_BY_CLOUDFORMATION) && !(res.Type in APPLIED_THROUGH_APIS)) {
      missing.push(`${logicalId} (${res.Type}): resource type`);
      continue;
    }
    for (const prop of Object.keys(res.Properties ?? {})) {
      if (!byCfn.includes(prop) && !(prop in byApi)) missing.push(`${logicalId} (${res.Type}).${prop}`);
    }
  }
  if (missing.length > 0) {
    throw new ProvisionError(
      `the local path cannot apply these template parts (add a handler in tools/local-aws/provision.ts):\n  ${missing.join('\n  ')}`,
    );
  }
}
