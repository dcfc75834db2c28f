import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import type { CfnTemplate } from '../../tools/local-aws/cfn-template.ts';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { ACCOUNT, Evaluator, INFRA, loadInfra, NAME_PREFIX, STAGE } from './support/cfn-eval.ts';
import { isAllowed, rolesOf } from './support/iam.ts';

/**
 * serverless.yml composes infra/*.yml into one application stack. The real CLI (osls or Serverless v4) is
 * not a dependency of the project, so this test does what its packaging does — deep-merge the files in
 * order — and checks the result the way CloudFormation and cfn-lint would.
 */

interface ServerlessConfig {
  service: string;
  params: { default: Record<string, string> };
  provider: {
    stackName: string;
    deploymentBucket: { name: string };
    iam: { deploymentRole: string };
    stackParameters: { ParameterKey: string; ParameterValue: string }[];
  };
  resources: (string | Record<string, unknown>)[];
}

/** Not part of the application stack: deployed on their own (docs/operations.md, "First deployment"). */
const STANDALONE = ['storage.yml', 'bootstrap.yml'];
const SHARED_WITH_STORAGE = [
  'Stage',
  'NamePrefix',
  'LandingPrefix',
  'ArchivePrefix',
  'SyncedPrefix',
  'ErrorsPrefix',
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Serverless's mergePlainObjects: objects merge key by key, anything else is replaced. */
function deepMerge(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    target[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge({ ...current }, value) : value;
  }
  return target;
}

function fileOf(reference: string): string {
  const file = /^\$\{file\((infra\/[\w.-]+\.yml)\)\}$/.exec(reference)?.[1];
  if (!file) throw new Error(`not a file reference: ${reference}`);
  return file;
}

/** Fills in serverless variables the way a deploy of stage STAGE in account ACCOUNT would. */
function resolveSls(text: string, sls: ServerlessConfig): string {
  return text
    .replaceAll('${sls:stage}', STAGE)
    .replaceAll('${param:accountId}', ACCOUNT)
    .replace(/\$\{param:(\w+)\}/g, (m, name: string) => sls.params.default[name] ?? m);
}

describe('serverless.yml composition of infra/', () => {
  let sls: ServerlessConfig;
  let files: string[];
  let templates: Map<string, CfnTemplate>;

  before(async () => {
    sls = YAML.parse(await readFile(path.join(repoRoot, 'serverless.yml'), 'utf8')) as ServerlessConfig;
    files = sls.resources.filter((r): r is string => typeof r === 'string').map(fileOf);
    templates = new Map();
    for (const f of files) templates.set(f, await loadInfra(path.basename(f)));
  });

  it('composes every application template under infra/, and neither the storage nor the bootstrap one', async () => {
    const all = (await readdir(INFRA)).filter((f) => f.endsWith('.yml'));
    expect(files.map((f) => path.basename(f))).to.have.members(all.filter((f) => !STANDALONE.includes(f)));
  });

  it('shares parameters only with identical definitions, and never a logical id', () => {
    const params = new Map<string, { file: string; spec: unknown }>();
    const ids = new Map<string, string>();
    for (const [file, t] of templates) {
      for (const [name, spec] of Object.entries(t.Parameters ?? {})) {
        const seen = params.get(name);
        if (seen) expect(spec, `parameter ${name} in ${file} and ${seen.file}`).to.deep.equal(seen.spec);
        else params.set(name, { file, spec });
      }
      const named = [
        ...Object.keys(t.Resources),
        ...Object.keys(t.Outputs ?? {}),
        ...Object.keys((t as { Conditions?: object }).Conditions ?? {}),
      ];
      for (const id of named) {
        expect(ids.get(id), `${id} in ${file}`).to.equal(undefined);
        ids.set(id, file);
      }
    }
  });

  it('agrees with infra/storage.yml on the parameters both have, and imports only what it exports', async () => {
    const storage = await loadInfra('storage.yml');
    const exported = Object.values(storage.Outputs ?? {}).flatMap((o) => {
      const name = (o as { Export?: { Name: { 'Fn::Sub': string } } }).Export?.Name['Fn::Sub'];
      return name ? [name.replace('${AWS::StackName}-', '')] : [];
    });
    const imports = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (isPlainObject(v)) {
        const sub = (v['Fn::ImportValue'] as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub'];
        if (sub) imports.add(sub);
        Object.values(v).forEach(walk);
      }
    };
    for (const [file, t] of templates) {
      walk(t.Resources);
      for (const name of SHARED_WITH_STORAGE.filter((n) => t.Parameters?.[n])) {
        const mine = t.Parameters![name] as { Default?: unknown; AllowedPattern?: unknown };
        const theirs = storage.Parameters![name] as { Default?: unknown; AllowedPattern?: unknown };
        expect([mine.Default, mine.AllowedPattern], `${name} in ${file}`).to.deep.equal([
          theirs.Default,
          theirs.AllowedPattern,
        ]);
      }
    }
    expect(imports.size).to.be.greaterThan(0);
    for (const name of imports) {
      expect(name).to.match(/^\$\{StorageStackName\}-\w+$/);
      expect(exported, name).to.include(name.replace('${StorageStackName}-', ''));
    }
  });

  it('passes a value for every parameter without a default, and only for parameters that exist', () => {
    const declared = new Map<string, { Default?: unknown }>();
    for (const t of templates.values()) {
      for (const [name, spec] of Object.entries(t.Parameters ?? {})) declared.set(name, spec);
    }
    const passed = sls.provider.stackParameters.map((p) => p.ParameterKey);
    expect(new Set(passed).size, 'each parameter once').to.equal(passed.length);
    for (const key of passed) expect([...declared.keys()], key).to.include(key);
    for (const [name, spec] of declared) {
      if (spec.Default === undefined) expect(passed, `${name} has no default`).to.include(name);
    }
    const storageStack = sls.provider.stackParameters.find((p) => p.ParameterKey === 'StorageStackName')!;
    expect(resolveSls(storageStack.ParameterValue, sls)).to.equal(`${NAME_PREFIX}-${STAGE}`);
    expect(sls.params.default.namePrefix).to.equal(NAME_PREFIX);
  });

  it('deploys into the stack, bucket and CloudFormation role that infra/bootstrap.yml provides', async () => {
    const bootstrap = new Evaluator(await loadInfra('bootstrap.yml'));
    const github = rolesOf(bootstrap).get('GitHubDeployRole')!.statements;
    const stackName = resolveSls(sls.provider.stackName, sls);
    const stackArn = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${stackName}/0a1b2c3d`;
    expect(isAllowed(github, 'cloudformation:CreateChangeSet', stackArn), stackName).to.be.true;
    expect(resolveSls(sls.provider.deploymentBucket.name, sls)).to.equal(
      bootstrap.physical('DeploymentBucket').ref,
    );
    expect(resolveSls(sls.provider.iam.deploymentRole, sls)).to.equal(
      bootstrap.physical('CloudFormationExecutionRole').attrs.Arn,
    );
  });

  it('merges, as Serverless does, into one template that cfn-lint accepts', async function () {
    this.timeout(60_000);
    const merged: Record<string, unknown> = {
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: {},
      Outputs: {},
    };
    for (const item of sls.resources) {
      const part = typeof item === 'string' ? templates.get(fileOf(item)) : item;
      deepMerge(merged, part as Record<string, unknown>);
    }
    expect(Object.keys(merged.Resources as object).length).to.equal(
      [...templates.values()].reduce((n, t) => n + Object.keys(t.Resources).length, 0),
    );
    const body = JSON.stringify(merged);
    expect(body.length, 'CloudFormation takes at most 1 MB from S3').to.be.below(1_000_000);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'sls-merged-'));
    try {
      const file = path.join(dir, 'cloudformation-template-update-stack.json');
      await writeFile(file, body);
      const lint = spawnSync(path.join(repoRoot, '.venv', 'bin', 'cfn-lint'), [file], { encoding: 'utf8' });
      expect(lint.error, 'cfn-lint runs').to.equal(undefined);
      expect(`${lint.stdout}${lint.stderr}`).to.equal('');
      expect(lint.status).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
