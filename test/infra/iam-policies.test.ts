import { expect } from 'chai';
import {
  ACCOUNT,
  Evaluator,
  loadInfra,
  NAME_PREFIX,
  REGION,
  STAGE,
  STORAGE_EXPORTS,
  STORAGE_STACK,
} from './support/cfn-eval.ts';
import { evaluate, isAllowed, rolesOf, type Role, type Statement } from './support/iam.ts';

/**
 * Reads every IAM role from the templates, evaluated for one imagined deployment, and shows what each
 * role can and cannot do. Resource ARNs are the real formats, so a wildcard that reaches too far fails here.
 */

/** Actions for which AWS offers no resource-level permission (or whose resources get ids only at creation). */
const NO_RESOURCE_LEVEL = new Set(
  [
    'ecr:GetAuthorizationToken',
    'logs:DescribeLogGroups',
    's3:GetAccountPublicAccessBlock',
    'cloudwatch:PutMetricData',
    'cloudwatch:GetMetricData',
    'cloudtrail:DescribeTrails',
    'cloudformation:ValidateTemplate',
    'cloudformation:GetTemplateSummary',
    'ecs:CreateCluster',
    'ecs:RegisterTaskDefinition',
    'ecs:DeregisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'application-autoscaling:RegisterScalableTarget',
    'application-autoscaling:DeregisterScalableTarget',
    'application-autoscaling:DescribeScalableTargets',
    'application-autoscaling:PutScalingPolicy',
    'application-autoscaling:DeleteScalingPolicy',
    'application-autoscaling:DescribeScalingPolicies',
    'application-autoscaling:DescribeScalingActivities',
    'application-autoscaling:TagResource',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSubnets',
    'ec2:DescribeVpcs',
    'ec2:DescribeVpcEndpoints',
    'ec2:DescribeRouteTables',
    'ec2:DescribeNetworkInterfaces',
  ].map((a) => a.toLowerCase()),
);

/** Statements allowed to name another account or no own resource: MWAA's AWS-owned Celery queues and key. */
const AWS_OWNED = new Set(['CeleryQueues', 'CeleryQueueEncryption']);

const landing = STORAGE_EXPORTS.LandingBucketArn!;
const synced = STORAGE_EXPORTS.SyncedBucketArn!;
const queue = STORAGE_EXPORTS.QueueArn!;
const dlq = STORAGE_EXPORTS.DeadLetterQueueArn!;
const otherSecret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${NAME_PREFIX}/${STAGE}/other-XyZ789`;

const S3_WRITES = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl'];
const SECRET_READS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:PutSecretValue',
];

describe('IAM policies in infra/', () => {
  let worker: Evaluator;
  let airflow: Evaluator;
  let bootstrap: Evaluator;
  let observability: Evaluator;
  let operator: Evaluator;
  let roles: Map<string, Role>;
  let token: string;

  before(async () => {
    worker = new Evaluator(await loadInfra('worker-service.yml'));
    airflow = new Evaluator(await loadInfra('airflow.yml'));
    bootstrap = new Evaluator(await loadInfra('bootstrap.yml'));
    observability = new Evaluator(await loadInfra('observability.yml'));
    operator = new Evaluator(await loadInfra('operator.yml'));
    roles = new Map([...rolesOf(worker), ...rolesOf(airflow), ...rolesOf(bootstrap), ...rolesOf(operator)]);
    token = worker.physical('MetaTokenSecret').ref;
  });

  const role = (id: string) => {
    const r = roles.get(id);
    if (!r) throw new Error(`no role ${id}`);
    return r.statements;
  };
  const can = (statements: Statement[], action: string, resource: string) =>
    isAllowed(statements, action, resource);

  describe('every role', () => {
    it('is one per component, each defined in the templates with no managed policy from outside', () => {
      expect([...roles.keys()]).to.have.members([
        'WorkerTaskRole',
        'WorkerExecutionRole',
        'AirflowExecutionRole',
        'GitHubDeployRole',
        'CloudFormationExecutionRole',
        'OperatorRole',
      ]);
      for (const r of roles.values()) expect(r.managedPolicyArns, r.logicalId).to.deep.equal([]);
    });

    it('never allows "*" or a whole service as an action, nor NotAction', () => {
      for (const r of roles.values()) {
        for (const s of r.statements.filter((s) => s.Effect === 'Allow')) {
          expect(s.NotAction, s.origin).to.deep.equal([]);
          for (const a of s.Action) expect(a, s.origin).not.to.match(/(^\*$|:\*$)/);
        }
      }
    });

    it('uses Resource "*" only for actions that have no resource-level permissions', () => {
      for (const r of roles.values()) {
        for (const s of r.statements.filter((s) => s.Effect === 'Allow' && s.Resource.includes('*'))) {
          const named = s.Action.filter((a) => !NO_RESOURCE_LEVEL.has(a.toLowerCase()));
          expect(named, `${s.origin} puts actions that take a resource on "*"`).to.deep.equal([]);
        }
      }
    });

    it("names its own account and region in every ARN, except for MWAA's AWS-owned Celery resources", () => {
      for (const r of roles.values()) {
        for (const s of r.statements) {
          if (AWS_OWNED.has(s.Sid ?? '')) continue;
          expect(s.NotResource, s.origin).to.deep.equal([]);
          for (const arn of s.Resource.filter((x) => x !== '*')) {
            const [, partition, service, region, account] = arn.split(':');
            expect(partition, `${s.origin}: ${arn}`).to.equal('aws');
            expect(service, `${s.origin}: ${arn}`).to.match(/^[a-z0-9-]+$/);
            expect(['', REGION], `${s.origin}: region of ${arn}`).to.include(region);
            expect(['', ACCOUNT], `${s.origin}: account of ${arn}`).to.include(account);
          }
        }
      }
    });

    it('is assumable only by its own service in this account, by GitHub through OIDC, or (operator) from this account', () => {
      const services = (id: string) =>
        roles
          .get(id)!
          .trust.flatMap((s) => (s.Principal === '*' ? ['*'] : [s.Principal?.Service ?? []].flat()));
      expect(services('WorkerTaskRole')).to.have.members(['ecs-tasks.amazonaws.com']);
      expect(services('WorkerExecutionRole')).to.have.members(['ecs-tasks.amazonaws.com']);
      expect(services('AirflowExecutionRole')).to.have.members([
        'airflow.amazonaws.com',
        'airflow-env.amazonaws.com',
      ]);
      expect(services('CloudFormationExecutionRole')).to.have.members(['cloudformation.amazonaws.com']);
      for (const id of [
        'WorkerTaskRole',
        'WorkerExecutionRole',
        'AirflowExecutionRole',
        'CloudFormationExecutionRole',
      ]) {
        const [trust, ...more] = roles.get(id)!.trust;
        expect(more, id).to.deep.equal([]);
        expect(trust!.Condition, id).to.deep.equal({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
      }
      const [operatorTrust, ...moreOperator] = roles.get('OperatorRole')!.trust;
      expect(moreOperator).to.deep.equal([]);
      expect(operatorTrust!.Principal).to.deep.equal({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
      expect(operatorTrust!.Action).to.deep.equal(['sts:AssumeRole']);
      const github = roles.get('GitHubDeployRole')!.trust;
      expect(github.map((s) => s.Principal)).to.deep.equal([
        { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
      ]);
    });
  });

  describe('worker (ECS task and execution roles)', () => {
    it('reads landing files and lists both buckets', () => {
      const task = role('WorkerTaskRole');
      expect(can(task, 's3:GetObject', `${landing}/landing/2026/11/25/products.csv`)).to.be.true;
      expect(can(task, 's3:GetObjectVersion', `${landing}/landing/products.csv`)).to.be.true;
      expect(can(task, 's3:ListBucket', landing)).to.be.true;
      expect(can(task, 's3:ListBucket', synced)).to.be.true;
    });

    it('cannot delete from archive/ nor write or delete anything in the landing bucket', () => {
      for (const id of ['WorkerTaskRole', 'WorkerExecutionRole']) {
        for (const key of ['archive/products.csv', 'landing/products.csv', 'elsewhere.csv']) {
          for (const action of S3_WRITES)
            expect(can(role(id), action, `${landing}/${key}`), `${id} ${action} ${key}`).to.be.false;
        }
        expect(can(role(id), 's3:DeleteBucket', landing), id).to.be.false;
      }
      expect(can(role('WorkerTaskRole'), 's3:GetObject', `${landing}/archive/products.csv`)).to.be.false;
    });

    it('reads and writes manifests, product state and reports, and deletes nothing in the synced bucket', () => {
      const task = role('WorkerTaskRole');
      for (const key of [
        'synced/manifests/2026-11-25T17/abc.json',
        'synced/state/0a.json',
        'errors/abc.json',
      ]) {
        expect(can(task, 's3:GetObject', `${synced}/${key}`), key).to.be.true;
        expect(can(task, 's3:PutObject', `${synced}/${key}`), key).to.be.true;
        expect(can(task, 's3:DeleteObject', `${synced}/${key}`), key).to.be.false;
      }
      expect(can(task, 's3:PutObject', `${synced}/other/x.json`)).to.be.false;
    });

    it('reads and conditionally writes the product state table (STATE_STORE=dynamodb), and deletes nothing in it', () => {
      const task = role('WorkerTaskRole');
      const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${NAME_PREFIX}-${STAGE}-state`;
      for (const action of [
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Scan',
      ]) {
        expect(can(task, action, table), action).to.be.true;
        expect(can(task, action, `${table}-other`), `${action} on another table`).to.be.false;
      }
      for (const action of [
        'dynamodb:DeleteItem',
        'dynamodb:DeleteTable',
        'dynamodb:UpdateTable',
        'dynamodb:BatchWriteItem',
      ]) {
        expect(can(task, action, table), action).to.be.false;
      }
    });

    it('reads and writes the per-catalog lease objects under the synced prefix, and deletes none', () => {
      const task = role('WorkerTaskRole');
      const lease = `${synced}/synced/leases/catalog-1234567890.json`;
      expect(can(task, 's3:GetObject', lease)).to.be.true;
      expect(can(task, 's3:PutObject', lease)).to.be.true;
      expect(can(task, 's3:DeleteObject', lease)).to.be.false;
      expect(can(task, 's3:PutObject', `${landing}/synced/leases/x.json`), 'not in the landing bucket').to.be
        .false;
    });

    it('receives, deletes and extends messages on the queue, and only sends to the dead-letter queue', () => {
      const task = role('WorkerTaskRole');
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
        expect(can(task, action, queue), action).to.be.true;
        expect(can(task, action, dlq), `${action} on the DLQ`).to.be.false;
      }
      expect(can(task, 'sqs:SendMessage', dlq)).to.be.true;
      expect(can(task, 'sqs:PurgeQueue', queue)).to.be.false;
      expect(can(task, 'sqs:SetQueueAttributes', queue)).to.be.false;
    });

    it('gets the token injected: only the execution role reads it, and only that secret', () => {
      expect(can(role('WorkerExecutionRole'), 'secretsmanager:GetSecretValue', token)).to.be.true;
      expect(can(role('WorkerExecutionRole'), 'secretsmanager:GetSecretValue', otherSecret)).to.be.false;
      for (const action of SECRET_READS)
        expect(can(role('WorkerTaskRole'), action, token), action).to.be.false;

      const container = (
        worker.eval(worker.template.Resources.WorkerTaskDefinition!.Properties) as {
          ContainerDefinitions: {
            Secrets: { Name: string; ValueFrom: string }[];
            Environment: { Name: string }[];
          }[];
        }
      ).ContainerDefinitions[0]!;
      expect(container.Secrets).to.deep.equal([{ Name: 'META_ACCESS_TOKEN', ValueFrom: token }]);
      expect(container.Environment.map((e) => e.Name)).not.to.include.oneOf([
        'META_ACCESS_TOKEN',
        'META_APP_SECRET',
      ]);
    });

    it('pulls only its own image and writes only its own log group', () => {
      const exec = role('WorkerExecutionRole');
      const repo = bootstrap.physical('WorkerImageRepository').attrs.Arn!;
      expect(can(exec, 'ecr:BatchGetImage', repo)).to.be.true;
      expect(can(exec, 'ecr:BatchGetImage', `${repo}-other`)).to.be.false;
      expect(can(exec, 'ecr:PutImage', repo)).to.be.false;
      const group = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/${NAME_PREFIX}-${STAGE}-worker`;
      expect(can(exec, 'logs:PutLogEvents', `${group}:log-stream:worker/worker/0123`)).to.be.true;
      expect(
        can(exec, 'logs:PutLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/other:log-stream:x`),
      ).to.be.false;
    });
  });

  describe('DAG (MWAA execution role)', () => {
    it('cannot touch the Meta token, even if a broad grant were added to it later', () => {
      const dag = role('AirflowExecutionRole');
      for (const action of SECRET_READS) expect(can(dag, action, token), action).to.be.false;
      const broadened: Statement = {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        NotAction: [],
        Resource: ['*'],
        NotResource: [],
        origin: 'test',
      };
      expect(can([...dag, broadened], 'secretsmanager:GetSecretValue', token)).to.be.false;
      expect(can([...dag, broadened], 'secretsmanager:GetSecretValue', otherSecret)).to.be.true;
    });

    it('moves landing files to archive/ (copy, verify, delete) and marks manifests archived', () => {
      const dag = role('AirflowExecutionRole');
      expect(can(dag, 's3:GetObject', `${landing}/landing/a.csv`)).to.be.true;
      expect(can(dag, 's3:PutObject', `${landing}/archive/a.csv`)).to.be.true;
      expect(can(dag, 's3:GetObject', `${landing}/archive/a.csv`)).to.be.true;
      expect(can(dag, 's3:DeleteObject', `${landing}/landing/a.csv`)).to.be.true;
      // It deletes exactly the version it copied: a plain delete would hide a newer upload behind a marker.
      expect(can(dag, 's3:DeleteObjectVersion', `${landing}/landing/a.csv`)).to.be.true;
      expect(can(dag, 's3:GetObject', `${synced}/synced/manifests/m.json`)).to.be.true;
      expect(can(dag, 's3:PutObject', `${synced}/synced/manifests/m.json`)).to.be.true;
    });

    it('cannot delete archived files, rewrite landing files, or touch product state and reports', () => {
      const dag = role('AirflowExecutionRole');
      expect(can(dag, 's3:DeleteObject', `${landing}/archive/a.csv`)).to.be.false;
      expect(can(dag, 's3:DeleteObjectVersion', `${landing}/archive/a.csv`)).to.be.false;
      expect(can(dag, 's3:PutObject', `${landing}/landing/a.csv`)).to.be.false;
      expect(can(dag, 's3:PutObject', `${synced}/synced/state/0a.json`)).to.be.false;
      expect(can(dag, 's3:PutObject', `${synced}/errors/r.json`)).to.be.false;
    });

    it("sends sweep messages and reads queue depths, but never consumes the worker's queues", () => {
      const dag = role('AirflowExecutionRole');
      expect(can(dag, 'sqs:SendMessage', queue)).to.be.true;
      expect(can(dag, 'sqs:GetQueueAttributes', queue)).to.be.true;
      expect(can(dag, 'sqs:GetQueueAttributes', dlq)).to.be.true;
      for (const q of [queue, dlq]) {
        for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:PurgeQueue']) {
          expect(can(dag, action, q), `${action} ${q}`).to.be.false;
        }
      }
    });

    it("reads bucket and queue names from the storage stack's outputs, and nothing else of CloudFormation", () => {
      const dag = role('AirflowExecutionRole');
      const stack = (name: string) => `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0a1b2c3d`;
      expect(can(dag, 'cloudformation:DescribeStacks', stack(STORAGE_STACK))).to.be.true;
      expect(can(dag, 'cloudformation:DescribeStacks', stack(`${STORAGE_STACK}-app`))).to.be.false;
      expect(can(dag, 'cloudformation:UpdateStack', stack(STORAGE_STACK))).to.be.false;
    });

    it('publishes DAG failures to the alarm topic of the same stage', () => {
      const topic = observability.physical('AlarmTopic').ref;
      expect(can(role('AirflowExecutionRole'), 'sns:Publish', topic)).to.be.true;
      expect(can(role('AirflowExecutionRole'), 'sns:Publish', `${topic}-other`)).to.be.false;
    });

    it('reads the DAG bucket the deploy role syncs to', () => {
      const bucket = airflow.physical('AirflowSourceBucket').attrs.Arn!;
      expect(can(role('AirflowExecutionRole'), 's3:GetObject', `${bucket}/dags/catalog_reconciliation.py`)).to
        .be.true;
      expect(can(role('GitHubDeployRole'), 's3:PutObject', `${bucket}/dags/catalog_reconciliation.py`)).to.be
        .true;
      expect(can(role('GitHubDeployRole'), 's3:PutObject', `${bucket}/plugins.zip`)).to.be.false;
    });
  });

  describe('operator (status, redrive, plan, release and discard)', () => {
    it('has exactly the actions status and redrive call, and nothing else', () => {
      const actions = role('OperatorRole')
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => s.Action)
        .sort();
      expect([...new Set(actions)]).to.deep.equal(
        [
          's3:GetObject',
          's3:ListBucket',
          's3:PutObject',
          'sqs:CancelMessageMoveTask',
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ListMessageMoveTasks',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
          'sqs:StartMessageMoveTask',
        ].sort(),
      );
    });

    it('reads manifests, product state, reports, payloads (plan), guardrail and drift records, and lists the synced bucket', () => {
      const op = role('OperatorRole');
      for (const key of [
        'synced/manifests/2026-11-25T17/m.json',
        'synced/state/0a.json',
        'errors/rows/x.json',
        'synced/batches/m/0.json',
        'synced/guardrails/history.json',
        'synced/drift/2026-11-25T17.json',
      ])
        expect(can(op, 's3:GetObject', `${synced}/${key}`), key).to.be.true;
      expect(can(op, 's3:ListBucket', synced)).to.be.true;
      expect(can(op, 's3:ListBucket', landing)).to.be.false;
      expect(can(op, 's3:GetObject', `${landing}/landing/a.csv`)).to.be.false;
      expect(can(op, 's3:GetObject', `${synced}/synced/leases/c.json`)).to.be.false;
    });

    it('writes only the redrive claims and manifests (discard), never state, leases or reports, and deletes nothing', () => {
      const op = role('OperatorRole');
      const claim = `${synced}/synced/redrive-claims/${NAME_PREFIX}-${STAGE}-events-dlq/abc.json`;
      expect(can(op, 's3:PutObject', claim)).to.be.true;
      expect(can(op, 's3:GetObject', claim)).to.be.true;
      expect(can(op, 's3:PutObject', `${synced}/synced/manifests/2026-11-25T17/m.json`)).to.be.true;
      for (const key of [
        'synced/state/0a.json',
        'synced/leases/c.json',
        'synced/batches/m/0.json',
        'errors/r.json',
      ]) {
        expect(can(op, 's3:PutObject', `${synced}/${key}`), key).to.be.false;
        expect(can(op, 's3:DeleteObject', `${synced}/${key}`), key).to.be.false;
      }
      expect(can(op, 's3:DeleteObject', `${synced}/synced/manifests/m.json`)).to.be.false;
      expect(can(op, 's3:DeleteObject', claim)).to.be.false;
    });

    it('moves DLQ messages back (move task or receive/send/delete) and reads both depths', () => {
      const op = role('OperatorRole');
      for (const action of [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:StartMessageMoveTask',
        'sqs:ListMessageMoveTasks',
        'sqs:CancelMessageMoveTask',
      ])
        expect(can(op, action, dlq), action).to.be.true;
      expect(can(op, 'sqs:SendMessage', queue)).to.be.true;
      expect(can(op, 'sqs:GetQueueAttributes', queue)).to.be.true;
      // Never consumes the live queue, never purges or reconfigures either.
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:StartMessageMoveTask'])
        expect(can(op, action, queue), action).to.be.false;
      for (const action of ['sqs:PurgeQueue', 'sqs:SetQueueAttributes', 'sqs:DeleteQueue'])
        for (const q of [queue, dlq]) expect(can(op, action, q), `${action} ${q}`).to.be.false;
      expect(can(op, 'sqs:SendMessage', dlq)).to.be.false;
    });

    it('cannot read the token', () => {
      for (const action of SECRET_READS) expect(can(role('OperatorRole'), action, token), action).to.be.false;
    });
  });

  describe('deploy roles (GitHub OIDC and CloudFormation)', () => {
    it("lets only jobs of one repository in this stage's GitHub environment assume the GitHub role", () => {
      const [trust] = roles.get('GitHubDeployRole')!.trust;
      expect(trust!.Action).to.deep.equal(['sts:AssumeRoleWithWebIdentity']);
      expect(trust!.Condition).to.deep.equal({
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub': `repo:example-org/catalog-sync:environment:${STAGE}`,
        },
      });
    });

    it("lets GitHub drive only this stage's two stacks, deploying as the CloudFormation role", () => {
      const gh = role('GitHubDeployRole');
      const stack = (name: string) => `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0a1b2c3d`;
      expect(can(gh, 'cloudformation:CreateChangeSet', stack(`${NAME_PREFIX}-${STAGE}`))).to.be.true;
      expect(can(gh, 'cloudformation:ExecuteChangeSet', stack(`${NAME_PREFIX}-${STAGE}-app`))).to.be.true;
      expect(can(gh, 'cloudformation:CreateChangeSet', stack(`${NAME_PREFIX}-prod`))).to.be.false;
      expect(can(gh, 'cloudformation:DeleteStack', stack(`${NAME_PREFIX}-${STAGE}`))).to.be.false;
      const cfnRole = bootstrap.physical('CloudFormationExecutionRole').attrs.Arn!;
      expect(can(gh, 'iam:PassRole', cfnRole)).to.be.true;
      expect(can(gh, 'iam:PassRole', worker.physical('WorkerTaskRole').attrs.Arn!)).to.be.false;
      expect(can(gh, 'iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}-${STAGE}-x`)).to.be.false;
      expect(can(gh, 'ecr:PutImage', bootstrap.physical('WorkerImageRepository').attrs.Arn!)).to.be.true;
    });

    it('lets CloudFormation create every named resource the stacks define (and so deploy them)', async () => {
      const cfn = role('CloudFormationExecutionRole');
      const boundary = { 'iam:PermissionsBoundary': bootstrap.physical('WorkloadBoundary').ref };
      const creates: Record<string, (ev: Evaluator, id: string) => [string, string]> = {
        'AWS::S3::Bucket': (ev, id) => ['s3:CreateBucket', ev.physical(id).attrs.Arn!],
        'AWS::SQS::Queue': (ev, id) => ['sqs:CreateQueue', ev.physical(id).attrs.Arn!],
        'AWS::DynamoDB::Table': (ev, id) => ['dynamodb:CreateTable', ev.physical(id).attrs.Arn!],
        'AWS::SNS::Topic': (ev, id) => ['sns:CreateTopic', ev.physical(id).ref],
        'AWS::Logs::LogGroup': (ev, id) => ['logs:CreateLogGroup', ev.physical(id).attrs.Arn!],
        'AWS::CloudWatch::Alarm': (ev, id) => ['cloudwatch:PutMetricAlarm', ev.physical(id).attrs.Arn!],
        'AWS::CloudWatch::Dashboard': (ev, id) => [
          'cloudwatch:PutDashboard',
          `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${ev.physical(id).ref}`,
        ],
        'AWS::IAM::Role': (ev, id) => ['iam:CreateRole', ev.physical(id).attrs.Arn!],
        'AWS::CloudTrail::Trail': (ev, id) => [
          'cloudtrail:CreateTrail',
          `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${String(ev.eval(ev.template.Resources[id]!.Properties!.TrailName))}`,
        ],
      };
      let checked = 0;
      for (const file of [
        'storage.yml',
        'worker-service.yml',
        'observability.yml',
        'airflow.yml',
        'audit.yml',
        'operator.yml',
      ]) {
        const ev = new Evaluator(await loadInfra(file));
        for (const [id, res] of Object.entries(ev.template.Resources)) {
          const create = creates[res.Type];
          if (!create) continue;
          const [action, arn] = create(ev, id);
          expect(evaluate(cfn, action, arn, boundary), `${file} ${id}: ${action} ${arn}`).to.be.true;
          checked++;
        }
      }
      expect(checked).to.be.greaterThan(20);
    });

    it("keeps every managed policy within IAM's 6,144 characters, with the longest prefix and stage", async () => {
      const longest = new Evaluator(await loadInfra('bootstrap.yml'), {
        Stage: 's'.repeat(20),
        NamePrefix: 'p'.repeat(20),
      });
      for (const [id, r] of Object.entries(longest.template.Resources)) {
        if (r.Type !== 'AWS::IAM::ManagedPolicy') continue;
        const size = JSON.stringify(longest.eval(r.Properties!.PolicyDocument)).replace(/\s/g, '').length;
        expect(size, id).to.be.below(6144);
      }
    });

    it('lets neither deploy role read the token or any object in the data buckets', () => {
      for (const id of ['GitHubDeployRole', 'CloudFormationExecutionRole']) {
        for (const action of ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']) {
          expect(can(role(id), action, token), `${id} ${action}`).to.be.false;
        }
        for (const object of [`${landing}/landing/a.csv`, `${synced}/synced/manifests/m.json`]) {
          expect(can(role(id), 's3:GetObject', object), `${id} reads ${object}`).to.be.false;
          expect(can(role(id), 's3:DeleteObject', object), `${id} deletes ${object}`).to.be.false;
        }
      }
    });

    it("bounds what CloudFormation may create to this stage's names, not those of a stage named <stage>-prod", () => {
      const cfn = role('CloudFormationExecutionRole');
      const other = `${NAME_PREFIX}-prod`;
      const longer = `${NAME_PREFIX}-${STAGE}-prod`;
      expect(can(cfn, 'iam:CreateRole', worker.physical('WorkerTaskRole').attrs.Arn!)).to.be.true;
      expect(can(cfn, 'iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}.prod.worker-task`)).to.be
        .false;
      expect(
        can(cfn, 'iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}.${STAGE}-prod.worker-task`),
      ).to.be.false;
      expect(can(cfn, 'iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/admin`)).to.be.false;
      expect(can(cfn, 's3:CreateBucket', landing)).to.be.true;
      for (const name of [other, longer]) {
        expect(can(cfn, 's3:CreateBucket', `arn:aws:s3:::${name}-landing-${ACCOUNT}`), name).to.be.false;
        expect(can(cfn, 'sqs:CreateQueue', `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}-events`), name).to.be
          .false;
        expect(can(cfn, 'sns:CreateTopic', `arn:aws:sns:${REGION}:${ACCOUNT}:${name}-alarms`), name).to.be
          .false;
      }
      expect(can(cfn, 'sqs:CreateQueue', queue)).to.be.true;
      expect(can(cfn, 'sqs:CreateQueue', dlq)).to.be.true;
      expect(
        can(
          cfn,
          'cloudwatch:PutDashboard',
          `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${NAME_PREFIX}-${STAGE}`,
        ),
      ).to.be.true;
      expect(can(cfn, 'iam:PassRole', worker.physical('WorkerTaskRole').attrs.Arn!)).to.be.true;
      expect(can(cfn, 'iam:PassRole', bootstrap.physical('GitHubDeployRole').attrs.Arn!)).to.be.false;
    });
  });
});
