import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type Event as S3EventName,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type LifecycleRule,
  type ObjectOwnership,
  type QueueConfiguration,
} from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import path from 'node:path';
import { loadTemplate, resolveValue, type CfnTemplate, type ResolveContext } from './cfn-template.ts';
import { repoRoot, waitFor } from './moto-server.ts';

export const STORAGE_TEMPLATE = path.join(repoRoot, 'infra', 'storage.yml');

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
}

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

type Applier = (
  clients: AwsClients,
  physicalId: string,
  value: unknown,
  resolved: Props,
  deviations: string[],
) => Promise<void>;
type Props = Record<string, unknown>;

/** Per resource type and property: how the local path applies what moto's CloudFormation drops. */
const APPLIED_THROUGH_APIS: Record<string, Record<string, Applier>> = {
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

export interface DeployResult {
  stackName: string;
  outputs: Record<string, string>;
  created: boolean;
  /** Template parts applied differently locally, each with the reason; printed on every deploy. */
  localDeviations: string[];
}

export interface DeployOptions {
  clients: AwsClients;
  stackName: string;
  templatePath?: string;
  parameters?: Record<string, string>;
  onProgress?: (line: string) => void;
}

/**
 * Deploys the template: CloudFormation creates the stack, then every property that moto's CloudFormation
 * drops is applied from the same template through the S3, SQS and DynamoDB APIs. Safe to run twice: an existing
 * stack is kept and the API-applied parts are re-applied (they are all idempotent puts).
 */
export async function deployTemplate(options: DeployOptions): Promise<DeployResult> {
  const { clients, stackName } = options;
  const progress = options.onProgress ?? (() => {});
  const { text, template } = await loadTemplate(options.templatePath ?? STORAGE_TEMPLATE);
  checkLocallyApplicable(template);

  const parameters: Record<string, string> = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    if (p.Default !== undefined) parameters[name] = String(p.Default);
  }
  Object.assign(parameters, options.parameters ?? {});

  let stack = await describeStack(clients.cfn, stackName);
  const created = !stack;
  if (!stack) {
    progress(`creating stack ${stackName}`);
    await clients.cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: text,
        Parameters: Object.entries(options.parameters ?? {}).map(([ParameterKey, ParameterValue]) => ({
          ParameterKey,
          ParameterValue,
        })),
      }),
    );
    await waitFor(`stack ${stackName}`, async () => {
      stack = await describeStack(clients.cfn, stackName);
      if (stack?.StackStatus?.endsWith('FAILED') || stack?.StackStatus?.includes('ROLLBACK')) {
        throw new ProvisionError(
          `stack ${stackName} ended ${stack.StackStatus}: ${stack.StackStatusReason ?? ''}`,
        );
      }
      return stack?.StackStatus === 'CREATE_COMPLETE';
    });
  } else {
    progress(`stack ${stackName} exists (${stack.StackStatus}); re-applying local parts`);
  }

  const resources = await clients.cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  const physical = new Map(
    (resources.StackResources ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]),
  );
  // Queue URLs as the endpoint itself serves them: the SQS client sends to a QueueUrl's own host, so a
  // URL naming the public AWS host would bypass a local endpoint.
  for (const r of resources.StackResources ?? []) {
    if (r.ResourceType !== 'AWS::SQS::Queue' || !r.PhysicalResourceId) continue;
    const QueueName = r.PhysicalResourceId.split('/').pop()!;
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName }));
    physical.set(r.LogicalResourceId!, QueueUrl!);
  }
  const [, , , region, accountId] = stack!.StackId!.split(':');
  const ctx: ResolveContext = {
    parameters,
    pseudo: { accountId: accountId!, region: region!, partition: 'aws', stackName },
    physicalId: (id) => {
      const res = template.Resources[id];
      if (!res) throw new ProvisionError(`Ref to unknown resource ${id}`);
      // moto does not create the resource types it skips; their "physical id" is never needed.
      return physical.get(id) ?? id;
    },
    attribute: (id, attr) => attributeOf(clients, template, physical, id, attr),
  };

  const localDeviations: string[] = [];
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    const appliers = APPLIED_THROUGH_APIS[res.Type] ?? {};
    const props = res.Properties ?? {};
    const resolved = (await resolveValue(props, ctx)) as Props;
    for (const [prop, apply] of Object.entries(appliers)) {
      if (!(prop in props)) continue;
      progress(`applying ${logicalId}.${prop}`);
      try {
        await apply(clients, physical.get(logicalId) ?? logicalId, resolved[prop], resolved, localDeviations);
      } catch (err) {
        throw new ProvisionError(`applying ${logicalId}.${prop} failed: ${(err as Error).message}`);
      }
    }
  }

  const outputs: Record<string, string> = {};
  for (const [name, out] of Object.entries(template.Outputs ?? {})) {
    outputs[name] = String(await resolveValue(out.Value, ctx));
  }
  for (const d of localDeviations) progress(`WARNING ${d}`);
  return { stackName, outputs, created, localDeviations };
}

async function describeStack(cfn: CloudFormationClient, stackName: string): Promise<Stack | undefined> {
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return res.Stacks?.find((s) => s.StackStatus !== 'DELETE_COMPLETE');
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
}

async function attributeOf(
  clients: AwsClients,
  template: CfnTemplate,
  physical: Map<string, string>,
  id: string,
  attr: string,
): Promise<string> {
  const res = template.Resources[id];
  const pid = physical.get(id);
  if (!res || !pid) throw new ProvisionError(`GetAtt ${id}.${attr}: resource not deployed`);
  if (res.Type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${pid}`;
  if (res.Type === 'AWS::SQS::Queue' && (attr === 'Arn' || attr === 'QueueName' || attr === 'QueueUrl')) {
    if (attr === 'QueueUrl') return pid;
    if (attr === 'QueueName') return pid.split('/').pop()!;
    const got = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: pid, AttributeNames: ['QueueArn'] }),
    );
    return got.Attributes!.QueueArn!;
  }
  if (res.Type === 'AWS::DynamoDB::Table' && attr === 'Arn') {
    const got = await clients.dynamodb.send(new DescribeTableCommand({ TableName: pid }));
    return got.Table!.TableArn!;
  }
  throw new ProvisionError(`GetAtt ${id}.${attr} (${res.Type}) is not supported by local provisioning`);
}
