import { readdir } from 'node:fs/promises';
import { expect } from 'chai';
import {
  ACCOUNT,
  Evaluator,
  INFRA,
  loadInfra,
  NAME_PREFIX,
  STAGE,
  STORAGE_EXPORTS,
} from './support/cfn-eval.ts';
import { ESCALATION_ACTIONS, EscalationAnalysis, formatFindings, type Model } from './support/escalation.ts';
import {
  evaluate,
  rolesOf,
  standalonePoliciesOf,
  statementsOf,
  type Role,
  type StandalonePolicy,
} from './support/iam.ts';

/**
 * Privilege escalation, evaluated rather than read off names: for every role the templates define, can it
 * grant itself or another principal more than it has? (support/escalation.ts says exactly what counts.)
 */

const OTHER_STAGE = `${STAGE}-prod`;

async function modelOf(
  stage: string,
  files: string[],
): Promise<{ roles: Role[]; policies: Map<string, StandalonePolicy> }> {
  const roles: Role[] = [];
  const policies = new Map<string, StandalonePolicy>();
  for (const file of files) {
    const ev = new Evaluator(await loadInfra(file), { Stage: stage });
    roles.push(...rolesOf(ev).values());
    for (const [arn, p] of standalonePoliciesOf(ev)) policies.set(arn, p);
  }
  return { roles, policies };
}

const role = (logicalId: string, arn: string, doc: unknown, boundaryArn?: string): Role => ({
  logicalId,
  arn,
  trust: [],
  statements: statementsOf(doc, logicalId),
  managedPolicyArns: [],
  ...(boundaryArn ? { boundaryArn } : {}),
});
const iamArn = (kind: 'role' | 'policy', name: string) => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;

describe('privilege escalation (every role the templates define)', () => {
  let model: Model;
  let analysis: EscalationAnalysis;

  before(async () => {
    const files = (await readdir(INFRA)).filter((f) => f.endsWith('.yml'));
    const here = await modelOf(STAGE, files);
    const other = await modelOf(OTHER_STAGE, files);
    model = {
      roles: here.roles,
      policies: here.policies,
      probes: [
        ...other.roles.map((r) => r.arn),
        ...other.policies.keys(),
        iamArn('role', 'admin'),
        iamArn('role', `${NAME_PREFIX}-${STAGE}-x`),
        'arn:aws:iam::aws:policy/AdministratorAccess',
      ],
      account: ACCOUNT,
    };
    analysis = new EscalationAnalysis(model);
  });

  it('finds the roles of every component, the deploy roles and the operator role', () => {
    expect(model.roles.map((r) => r.logicalId)).to.include.members([
      'CloudFormationExecutionRole',
      'GitHubDeployRole',
      'WorkerTaskRole',
      'WorkerExecutionRole',
      'AirflowExecutionRole',
      'OperatorRole',
    ]);
  });

  it('no role can grant itself or another principal more than it has', () => {
    const findings = model.roles.flatMap((r) => analysis.findings(r));
    expect(formatFindings(findings)).to.equal('');
  });

  describe('the boundary and the CloudFormation role', () => {
    const APP_ROLES = ['WorkerTaskRole', 'WorkerExecutionRole', 'AirflowExecutionRole', 'OperatorRole'];
    let boundaryArn: string;
    const byId = (id: string) => model.roles.find((r) => r.logicalId === id)!;
    const namespace = `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}.${STAGE}.`;

    before(async () => {
      boundaryArn = new Evaluator(await loadInfra('bootstrap.yml')).physical('WorkloadBoundary').ref;
    });

    it('bounds every role the application stack creates, and names it in the stage namespace', () => {
      expect([...model.policies.keys()]).to.deep.equal([boundaryArn]);
      for (const id of APP_ROLES) {
        const r = byId(id);
        expect(r.boundaryArn, id).to.equal(boundaryArn);
        expect(r.arn.startsWith(namespace), `${id}: ${r.arn}`).to.be.true;
        expect(analysis.fence(r.arn), id).to.equal('bounded');
      }
      // The deploy roles are not in it; the CloudFormation role is passed by GitHub and cannot be changed.
      for (const id of ['CloudFormationExecutionRole', 'GitHubDeployRole'])
        expect(byId(id).arn.startsWith(namespace), id).to.be.false;
      expect(analysis.fence(byId('CloudFormationExecutionRole').arn)).to.equal('fixed');
    });

    it('lets the boundary grant nothing in IAM or STS, and nothing of another stage', () => {
      expect(analysis.boundaryIsSafe(boundaryArn)).to.be.true;
      const boundary = model.policies.get(boundaryArn)!.statements;
      for (const s of boundary) {
        for (const a of s.Action) expect(a, s.origin).not.to.match(/^(iam|sts|organizations):/i);
      }
      const other = (kind: string) => `arn:aws:${kind}`;
      const mine = STORAGE_EXPORTS;
      const theirs = (arn: string) =>
        arn.replaceAll(`${NAME_PREFIX}-${STAGE}-`, `${NAME_PREFIX}-${OTHER_STAGE}-`);
      for (const [action, resource] of [
        ['s3:GetObject', `${mine.SyncedBucketArn}/synced/state/0a.json`],
        ['s3:PutObject', `${mine.LandingBucketArn}/landing/a.csv`],
        ['sqs:ReceiveMessage', mine.QueueArn!],
        ['sqs:SendMessage', mine.DeadLetterQueueArn!],
      ] as const) {
        expect(evaluate(boundary, action, resource), `${action} ${resource}`).to.be.true;
        expect(evaluate(boundary, action, theirs(resource)), `${action} ${theirs(resource)}`).to.be.false;
      }
      expect(evaluate(boundary, 's3:GetObject', `${other('s3')}:::some-other-bucket/x`)).to.be.false;
    });

    it('leaves every bounded role what its own policies grant (the boundary cuts nothing a job needs)', () => {
      const boundary = model.policies.get(boundaryArn)!.statements;
      const instance = (pattern: string) =>
        pattern === '*' ? 'anything' : pattern.replace(/\*/g, 'Task').replace(/\?/g, 'x');
      const mwaaSuffixes = ['DAGProcessing', 'Scheduler', 'Task', 'WebServer', 'Worker'];
      let checked = 0;
      for (const id of APP_ROLES) {
        for (const s of byId(id).statements.filter((x) => x.Effect === 'Allow')) {
          const resources =
            s.NotResource.length > 0
              ? ['arn:aws:kms:us-east-1:999999999999:key/aws-owned'] // outside NotResource (MWAA's Celery key)
              : s.Resource.flatMap((r) =>
                  // MWAA's log groups: its own policy names them by pattern, the boundary one by one.
                  r.includes(':log-group:airflow-')
                    ? mwaaSuffixes.map((c) => r.replace(/\*$/, c))
                    : [instance(r)],
                );
          for (const action of s.Action) {
            for (const resource of resources) {
              expect(evaluate(boundary, action, resource), `${s.origin}: ${action} on ${resource}`).to.be
                .true;
              checked++;
            }
          }
        }
      }
      expect(checked).to.be.greaterThan(50);
    });

    it('lets the CloudFormation role create and change roles only with the boundary, in the namespace only', () => {
      const cfn = byId('CloudFormationExecutionRole');
      const withBoundary = { 'iam:PermissionsBoundary': boundaryArn };
      for (const id of APP_ROLES) {
        for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy']) {
          expect(analysis.allowed(cfn, action, byId(id).arn, withBoundary), `${action} ${id}`).to.be.true;
          expect(analysis.allowed(cfn, action, byId(id).arn, { 'iam:PermissionsBoundary': null })).to.be
            .false;
          expect(
            analysis.allowed(cfn, action, byId(id).arn, {
              'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/other`,
            }),
          ).to.be.false;
        }
      }
      const otherStage = `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}.${OTHER_STAGE}.worker-task`;
      expect(analysis.allowed(cfn, 'iam:CreateRole', otherStage, withBoundary), otherStage).to.be.false;
      for (const id of ['CloudFormationExecutionRole', 'GitHubDeployRole']) {
        for (const action of [
          'iam:PutRolePolicy',
          'iam:UpdateAssumeRolePolicy',
          'iam:AttachRolePolicy',
          'iam:DeleteRole',
        ])
          expect(analysis.allowed(cfn, action, byId(id).arn, withBoundary), `${action} ${id}`).to.be.false;
      }
      for (const action of [
        'iam:DeleteRolePermissionsBoundary',
        'iam:DetachRolePolicy',
        'iam:CreatePolicyVersion',
        'iam:SetDefaultPolicyVersion',
        'iam:DeletePolicy',
      ]) {
        for (const target of [boundaryArn, byId('WorkerTaskRole').arn])
          expect(analysis.allowed(cfn, action, target, withBoundary), `${action} ${target}`).to.be.false;
      }
      expect(analysis.allowed(cfn, 'iam:PassRole', byId('WorkerTaskRole').arn)).to.be.true;
      expect(analysis.allowed(cfn, 'iam:PassRole', byId('OperatorRole').arn)).to.be.false;
    });
  });

  describe('the evaluator', () => {
    const boundary = iamArn('policy', 'b');
    const boundaryPolicy: StandalonePolicy = {
      logicalId: 'B',
      arn: boundary,
      statements: statementsOf(
        { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] },
        'B',
      ),
    };
    const analyse = (...roles: Role[]) =>
      new EscalationAnalysis({
        roles,
        policies: new Map([[boundary, boundaryPolicy]]),
        probes: [iamArn('role', 'admin')],
        account: ACCOUNT,
      });

    it("flags the CloudFormation role's role statement as it was before the boundary (today's bootstrap.yml)", () => {
      // infra/bootstrap.yml before this change: role actions on catalog-sync-<stage>-*, no boundary condition.
      const cfn = role('Cfn', iamArn('role', `${NAME_PREFIX}-${STAGE}-cfn-exec`), {
        Statement: [
          {
            Sid: 'Roles',
            Effect: 'Allow',
            Action: ['iam:CreateRole', 'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy'],
            Resource: `arn:aws:iam::${ACCOUNT}:role/${NAME_PREFIX}-${STAGE}-*`,
          },
        ],
      });
      const found = analyse(cfn).findings(cfn);
      const on = (action: string) => found.filter((f) => f.action === action).map((f) => f.resource);
      expect(on('iam:CreateRole')).to.include(iamArn('role', `${NAME_PREFIX}-${STAGE}-cfn-exec`));
      expect(on('iam:PutRolePolicy'), 'itself').to.include(cfn.arn);
      expect(on('iam:UpdateAssumeRolePolicy')).to.have.length.greaterThan(0);
    });

    it('accepts role writes that require the boundary, and flags the same without the condition', () => {
      const statement = (condition: boolean) => ({
        Effect: 'Allow',
        Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
        Resource: iamArn('role', 'app.*'),
        ...(condition ? { Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } } } : {}),
      });
      const bounded = role('R', iamArn('role', 'deployer'), { Statement: [statement(true)] });
      expect(formatFindings(analyse(bounded).findings(bounded))).to.equal('');
      const open = role('R', iamArn('role', 'deployer'), { Statement: [statement(false)] });
      expect(
        analyse(open)
          .findings(open)
          .map((f) => f.action),
      ).to.include.members(['iam:CreateRole', 'iam:PutRolePolicy']);
    });

    it('flags removing a boundary, editing a policy version, and passing a role that is not fenced', () => {
      const r = role('R', iamArn('role', 'deployer'), {
        Statement: [
          { Effect: 'Allow', Action: 'iam:DeleteRolePermissionsBoundary', Resource: iamArn('role', 'app.*') },
          { Effect: 'Allow', Action: 'iam:CreatePolicyVersion', Resource: boundary },
          { Effect: 'Allow', Action: 'iam:PassRole', Resource: iamArn('role', 'admin') },
        ],
      });
      expect(
        analyse(r)
          .findings(r)
          .map((f) => `${f.action} ${f.resource}`),
      ).to.include.members([
        `iam:DeleteRolePermissionsBoundary ${iamArn('role', 'app.x')}`,
        `iam:CreatePolicyVersion ${boundary}`,
        `iam:PassRole ${iamArn('role', 'admin')}`,
      ]);
    });

    it('accepts passing a bounded role, and a fixed role that cannot escalate, but not one that can', () => {
      const create = {
        Effect: 'Allow',
        Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
        Resource: iamArn('role', 'app.*'),
        Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } },
      };
      const worker = role('Worker', iamArn('role', 'app.worker'), { Statement: [] }, boundary);
      const deployer = role('Deployer', iamArn('role', 'deployer'), {
        Statement: [create, { Effect: 'Allow', Action: 'iam:PassRole', Resource: iamArn('role', 'app.*') }],
      });
      const pipeline = role('Pipeline', iamArn('role', 'pipeline'), {
        Statement: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: deployer.arn }],
      });
      const a = analyse(worker, deployer, pipeline);
      expect(a.fence(worker.arn)).to.equal('bounded');
      expect(a.fence(deployer.arn)).to.equal('fixed');
      expect(formatFindings([...a.findings(deployer), ...a.findings(pipeline)])).to.equal('');

      // The same deployer, able to drop the condition: passing it is passing an escalation.
      const loose = role('Deployer', deployer.arn, {
        Statement: [{ ...create, Condition: undefined }],
      });
      const b = analyse(worker, loose, pipeline);
      expect(b.fence(loose.arn)).to.equal(undefined);
      expect(b.findings(pipeline).map((f) => f.action)).to.deep.equal(['iam:PassRole']);
    });

    it('treats a role as bounded only if its boundary grants no escalation itself', () => {
      const leaky: StandalonePolicy = {
        ...boundaryPolicy,
        statements: statementsOf({ Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }] }, 'B'),
      };
      const worker = role('Worker', iamArn('role', 'app.worker'), { Statement: [] }, boundary);
      const deployer = role('Deployer', iamArn('role', 'deployer'), {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
            Resource: iamArn('role', 'app.*'),
            Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } },
          },
        ],
      });
      const a = new EscalationAnalysis({
        roles: [worker, deployer],
        policies: new Map([[boundary, leaky]]),
        probes: [],
        account: ACCOUNT,
      });
      expect(a.boundaryIsSafe(boundary)).to.equal(false);
      expect(a.fence(worker.arn)).to.equal(undefined);
    });

    it('covers the actions the issue lists', () => {
      expect(ESCALATION_ACTIONS).to.include.members([
        'iam:CreateRole',
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:PassRole',
        'iam:CreatePolicyVersion',
        'iam:SetDefaultPolicyVersion',
        'iam:DeleteRolePermissionsBoundary',
        'iam:PutRolePermissionsBoundary',
      ]);
    });
  });
});
