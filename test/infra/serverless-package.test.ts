import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

const run = promisify(execFile);

/**
 * The real Serverless CLI (osls, the maintained open-source v3 line, offline) packages serverless.yml,
 * and cfn-lint checks exactly what it would deploy.
 */
describe('serverless package', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cs-sls-'));
    await cp(path.join(repoRoot, 'serverless.yml'), path.join(dir, 'serverless.yml'));
    await cp(path.join(repoRoot, 'infra'), path.join(dir, 'infra'), { recursive: true });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('produces a template that cfn-lint passes', async () => {
    const params = {
      imageTag: 'test',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-1,subnet-2',
      airflowSubnetIds: 'subnet-1,subnet-2',
      metaCatalogId: '1234567890',
      accountId: '123456789012',
    };
    await run(
      path.join(repoRoot, 'node_modules', '.bin', 'serverless'),
      ['package', '--stage', 'ci', ...Object.entries(params).map(([k, v]) => `--param=${k}=${v}`)],
      { cwd: dir, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' } },
    );
    const out = path.join(dir, '.serverless', 'cloudformation-template-update-stack.json');
    const template = JSON.parse(await readFile(out, 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const t of [
      'AWS::ECS::Service',
      'AWS::IAM::Role',
      'AWS::CloudWatch::Alarm',
      'AWS::CloudTrail::Trail',
    ]) {
      expect(types, t).to.include(t);
    }
    const lint = await run(path.join(repoRoot, '.venv', 'bin', 'cfn-lint'), [out]).then(
      () => ({ code: 0, output: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, output: err.stdout }),
    );
    expect(lint, lint.output).to.deep.equal({ code: 0, output: '' });
  });
});
