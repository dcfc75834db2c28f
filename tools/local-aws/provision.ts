import {
  type CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import path from 'node:path';
import { loadTemplate, resolveValue, type CfnTemplate, type ResolveContext } from './cfn-template.ts';
import type { AwsClients } from './local-clients.ts';
import { repoRoot, waitFor } from './moto-server.ts';
import {
  APPLIED_THROUGH_APIS,
  checkLocallyApplicable,
  ProvisionError,
  type Props,
} from './template-appliers.ts';

export { localClients, type AwsClients } from './local-clients.ts';
export { checkLocallyApplicable, ProvisionError } from './template-appliers.ts';

export const STORAGE_TEMPLATE = path.join(repoRoot, 'infra', 'storage.yml');

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
