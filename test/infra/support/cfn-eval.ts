import path from 'node:path';
import { loadTemplate, type CfnResource, type CfnTemplate } from '../../../tools/local-aws/cfn-template.ts';
import { repoRoot } from '../../../tools/local-aws/moto-server.ts';

/**
 * Evaluates a template's intrinsic functions to plain strings for one imagined deployment, so tests can
 * read IAM documents as AWS would see them. Physical ids follow AWS's formats (a secret's ARN ends in a
 * random suffix, a bucket's ARN has no region…), which is what makes wildcard mistakes visible.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const STAGE = 'test';
export const NAME_PREFIX = 'catalog-sync';
/** As in the local sandbox (tools/local-aws/local-aws.ts) and the DAG's default stack_name. */
export const STORAGE_STACK = `${NAME_PREFIX}-${STAGE}`;

/** What the storage stack (infra/storage.yml) exports for this deployment, by export name. */
export const STORAGE_EXPORTS: Record<string, string> = {
  LandingBucketName: `${NAME_PREFIX}-${STAGE}-landing-${ACCOUNT}`,
  LandingBucketArn: `arn:aws:s3:::${NAME_PREFIX}-${STAGE}-landing-${ACCOUNT}`,
  SyncedBucketName: `${NAME_PREFIX}-${STAGE}-synced-${ACCOUNT}`,
  SyncedBucketArn: `arn:aws:s3:::${NAME_PREFIX}-${STAGE}-synced-${ACCOUNT}`,
  QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${NAME_PREFIX}-${STAGE}-events`,
  QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${NAME_PREFIX}-${STAGE}-events`,
  DeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${NAME_PREFIX}-${STAGE}-events-dlq`,
  DeadLetterQueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${NAME_PREFIX}-${STAGE}-events-dlq`,
  StateTableName: `${NAME_PREFIX}-${STAGE}-state`,
  StateTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${NAME_PREFIX}-${STAGE}-state`,
  // infra/storage.yml's defaults (test/infra/storage-template.test.ts checks they agree).
  MaxReceiveCount: '5',
  VisibilityTimeout: '120',
};

/** Values for parameters that have no default. */
const REQUIRED_PARAMETERS: Record<string, string> = {
  StorageStackName: STORAGE_STACK,
  ImageTag: 'abc123',
  VpcId: 'vpc-0123456789abcdef0',
  SubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  AirflowSubnetIds: 'subnet-0123456789abcdef2,subnet-0123456789abcdef3',
  MetaCatalogId: '1234567890',
  GitHubRepository: 'example-org/catalog-sync',
};

export const INFRA = path.join(repoRoot, 'infra');

const NO_VALUE = Symbol('AWS::NoValue');

export async function loadInfra(file: string): Promise<CfnTemplate> {
  return (await loadTemplate(path.join(INFRA, file))).template;
}

export class Evaluator {
  readonly template: CfnTemplate;
  readonly params: Record<string, string>;

  constructor(template: CfnTemplate, overrides: Record<string, string> = {}) {
    this.template = template;
    const params: Record<string, string> = {};
    for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
      const value =
        overrides[name] ??
        (name === 'Stage' ? STAGE : undefined) ??
        spec.Default ??
        REQUIRED_PARAMETERS[name];
      if (value === undefined) throw new Error(`no test value for parameter ${name}`);
      params[name] = String(value);
    }
    this.params = params;
  }

  /** Evaluates every intrinsic in `value`; AWS::NoValue drops the member. */
  eval(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.eval(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [[key, arg]] = entries as [[string, unknown]];
      switch (key) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [res, attr] = arg as [string, string];
          return this.attribute(res, attr);
        }
        case 'Fn::Sub':
          return this.sub(arg);
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.eval(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.eval(list) as unknown[])[Number(this.eval(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return String(this.eval(text)).split(sep);
        }
        case 'Fn::ImportValue':
          return this.importValue(String(this.eval(arg)));
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.eval(this.condition(cond) ? yes : no);
        }
      }
      if (key.startsWith('Fn::')) throw new Error(`${key} is not supported by the test evaluator`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const evaluated = this.eval(v);
      if (evaluated !== NO_VALUE) out[k] = evaluated;
    }
    return out;
  }

  condition(name: string): boolean {
    const expr = (this.template as { Conditions?: Record<string, unknown> }).Conditions?.[name];
    if (expr === undefined) throw new Error(`unknown condition ${name}`);
    return this.truth(expr);
  }

  private truth(expr: unknown): boolean {
    const [[fn, arg]] = Object.entries(expr as Record<string, unknown>) as [[string, unknown]];
    const args = arg as unknown[];
    switch (fn) {
      case 'Fn::Equals':
        return String(this.eval(args[0])) === String(this.eval(args[1]));
      case 'Fn::Not':
        return !this.truth(args[0]);
      case 'Fn::And':
        return args.every((a) => this.truth(a));
      case 'Fn::Or':
        return args.some((a) => this.truth(a));
      case 'Condition':
        return this.condition(String(arg));
    }
    throw new Error(`unsupported condition function ${fn}`);
  }

  private ref(name: string): unknown {
    const pseudo: Record<string, unknown> = {
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': REGION,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': `${NAME_PREFIX}-${STAGE}-app`,
      'AWS::NoValue': NO_VALUE,
    };
    if (name in pseudo) return pseudo[name];
    if (name in this.params) {
      const type = this.template.Parameters![name]!.Type;
      return type.startsWith('List<') || type === 'CommaDelimitedList'
        ? this.params[name]!.split(',')
        : this.params[name];
    }
    return this.physical(name).ref;
  }

  private attribute(logicalId: string, attr: string): string {
    const value = this.physical(logicalId).attrs[attr];
    if (value === undefined) throw new Error(`no test value for ${logicalId}.${attr}`);
    return value;
  }

  private importValue(exportName: string): string {
    const prefix = `${STORAGE_STACK}-`;
    const key = exportName.startsWith(prefix) ? exportName.slice(prefix.length) : undefined;
    const value = key === undefined ? undefined : STORAGE_EXPORTS[key];
    if (value === undefined) throw new Error(`no export named ${exportName}`);
    return value;
  }

  private sub(arg: unknown): string {
    const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
      if (bang) return `\${${name}}`;
      if (name in vars) return String(this.eval(vars[name]));
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const dot = name.indexOf('.');
        return this.attribute(name.slice(0, dot), name.slice(dot + 1));
      }
      return String(this.ref(name));
    });
  }

  /** Ref and attributes of a resource, in the formats AWS returns them. */
  physical(logicalId: string): { ref: string; attrs: Record<string, string> } {
    const resource: CfnResource | undefined = this.template.Resources[logicalId];
    if (!resource) throw new Error(`unknown resource ${logicalId}`);
    const props = resource.Properties ?? {};
    const named = (key: string) => (props[key] === undefined ? logicalId : String(this.eval(props[key])));
    const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
    switch (resource.Type) {
      case 'AWS::S3::Bucket': {
        const name = named('BucketName');
        return { ref: name, attrs: { Arn: `arn:aws:s3:::${name}` } };
      }
      case 'AWS::SecretsManager::Secret':
        return { ref: arn('secretsmanager', `secret:${named('Name')}-AbC123`), attrs: {} };
      case 'AWS::Logs::LogGroup': {
        const name = named('LogGroupName');
        return { ref: name, attrs: { Arn: arn('logs', `log-group:${name}:*`) } };
      }
      case 'AWS::IAM::Role': {
        const name = named('RoleName');
        const rolePath = props.Path === undefined ? '/' : String(this.eval(props.Path));
        return { ref: name, attrs: { Arn: `arn:aws:iam::${ACCOUNT}:role${rolePath}${name}` } };
      }
      case 'AWS::IAM::ManagedPolicy': {
        const policyPath = props.Path === undefined ? '/' : String(this.eval(props.Path));
        return { ref: `arn:aws:iam::${ACCOUNT}:policy${policyPath}${named('ManagedPolicyName')}`, attrs: {} };
      }
      case 'AWS::IAM::OIDCProvider':
        return {
          ref: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
          attrs: {},
        };
      case 'AWS::ECR::Repository': {
        const name = named('RepositoryName');
        return { ref: name, attrs: { Arn: arn('ecr', `repository/${name}`) } };
      }
      case 'AWS::SQS::Queue': {
        const name = named('QueueName');
        return {
          ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
          attrs: { Arn: arn('sqs', name), QueueName: name },
        };
      }
      case 'AWS::DynamoDB::Table': {
        const name = named('TableName');
        return { ref: name, attrs: { Arn: arn('dynamodb', `table/${name}`) } };
      }
      case 'AWS::SNS::Topic':
        return { ref: arn('sns', named('TopicName')), attrs: { TopicName: named('TopicName') } };
      case 'AWS::CloudWatch::Alarm': {
        const name = named('AlarmName');
        return { ref: name, attrs: { Arn: arn('cloudwatch', `alarm:${name}`) } };
      }
      case 'AWS::CloudWatch::Dashboard':
        return { ref: named('DashboardName'), attrs: {} };
      case 'AWS::ECS::Service':
        return { ref: logicalId, attrs: { Name: named('ServiceName') } };
      default:
        return { ref: named('Name'), attrs: {} };
    }
  }
}
