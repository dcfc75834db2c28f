import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { ACCOUNT, Evaluator, loadInfra, NAME_PREFIX, STAGE } from './support/cfn-eval.ts';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  'runs-on'?: string;
  environment?: string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOWS = path.join(repoRoot, '.github', 'workflows');
/** First path segments that name something in this repository. */
const REPO_ROOTS = ['infra', 'dags', 'scripts', 'src', 'schemas', 'docs', 'bin', 'test', '.ci', '.github'];

async function load(name: string): Promise<{ text: string; doc: Workflow }> {
  const text = await readFile(path.join(WORKFLOWS, name), 'utf8');
  return { text, doc: YAML.parse(text) as Workflow };
}

/** Words of a shell script that name files or folders of the repository. */
function repoPaths(script: string): string[] {
  return script
    .split(/[\s"'=;|&()]+/)
    .filter((w) => !w.includes('$') && !w.includes('*') && !w.includes(':'))
    .map((w) => w.replace(/^\.\//, ''))
    .filter(
      (w) =>
        REPO_ROOTS.includes(w.split('/')[0]!) ||
        /^[\w.-]+\.(ya?ml|sh|json|ts|py)$/.test(w) ||
        w === 'Dockerfile',
    );
}

const steps = (doc: Workflow) => Object.values(doc.jobs).flatMap((j) => j.steps ?? []);

describe('GitHub workflows', () => {
  let ci: { text: string; doc: Workflow };
  let deploy: { text: string; doc: Workflow };

  before(async () => {
    ci = await load('ci.yml');
    deploy = await load('deploy.yml');
  });

  it('reference only files and folders that exist in the repository', () => {
    for (const wf of [ci, deploy]) {
      const referenced = steps(wf.doc).flatMap((s) => [
        ...repoPaths(s.run ?? ''),
        ...(s.uses?.startsWith('./') ? [s.uses.slice(2)] : []),
      ]);
      const jobs = Object.values(wf.doc.jobs).flatMap((j) =>
        j.uses?.startsWith('./') ? [j.uses.slice(2)] : [],
      );
      for (const p of [...referenced, ...jobs]) expect(existsSync(path.join(repoRoot, p)), p).to.be.true;
    }
    expect(
      repoPaths(
        steps(deploy.doc)
          .map((s) => s.run ?? '')
          .join('\n'),
      ),
    ).to.include.members(['Dockerfile', 'infra/storage.yml', 'serverless.yml', 'dags/']);
  });

  it("CI runs on pull requests exactly what .ci/run runs, with the project's Node and Python", async () => {
    expect(ci.doc.on).to.have.property('pull_request');
    expect(ci.doc.permissions).to.deep.equal({ contents: 'read' });
    const all = steps(ci.doc);
    expect(all.filter((s) => s.run).map((s) => s.run!.trim())).to.deep.equal(['bash .ci/run']);
    const ciRun = await readFile(path.join(repoRoot, '.ci', 'run'), 'utf8');
    expect(ciRun).to.match(/^make test$/m);

    const setup = await readFile(path.join(repoRoot, 'scripts', 'setup.sh'), 'utf8');
    const nodeVersion = /^NODE_VERSION=([\d.]+)/m.exec(setup)![1];
    expect(all.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version']).to.equal(
      nodeVersion,
    );
    expect(all.find((s) => s.uses?.startsWith('actions/setup-python@'))?.with?.['python-version']).to.match(
      /^3\.1[1-3]$/,
    );
  });

  it('deploys on main, after the CI job, with an OIDC role and no stored secret', () => {
    expect((deploy.doc.on.push as { branches: string[] }).branches).to.deep.equal(['main']);
    expect(deploy.doc.permissions).to.deep.equal({ contents: 'read' });
    expect(deploy.doc.jobs.test!.uses).to.equal('./.github/workflows/ci.yml');
    expect(ci.doc.on).to.have.property('workflow_call');
    const job = deploy.doc.jobs.deploy!;
    expect(job.needs).to.equal('test');
    expect(job.permissions).to.deep.equal({ contents: 'read', 'id-token': 'write' });
    const login = job.steps!.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(login?.with?.['role-to-assume']).to.equal('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    expect(deploy.text).not.to.match(/secrets\./);
    expect(deploy.text).not.to.match(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/);
  });

  it('pushes the image, then deploys storage, then the application stack, then syncs dags/', () => {
    const runs = deploy.doc.jobs.deploy!.steps!.map((s) => s.run ?? '');
    const at = (pattern: RegExp) => {
      const i = runs.findIndex((r) => pattern.test(r));
      expect(i, String(pattern)).to.be.at.least(0);
      return i;
    };
    const image = at(/docker buildx build .*--push/);
    const storage = at(/aws cloudformation deploy[\s\S]*--template-file infra\/storage\.yml/);
    const app = at(/npx --yes osls@\d+\.\d+\.\d+ deploy --config serverless\.yml/);
    const dags = at(/aws s3 sync dags\/ [\s\S]*--follow-symlinks/);
    expect(image, 'the service must find its image').to.be.below(storage);
    expect(storage, 'the application stack imports the storage exports').to.be.below(app);
    expect(app, 'the application stack creates the DAG bucket').to.be.below(dags);
  });

  it('uses the names the templates give the repository, stacks, role and DAG bucket', async () => {
    const job = deploy.doc.jobs.deploy!;
    expect(job.env!.NAME_PREFIX).to.equal(NAME_PREFIX);
    const script = job
      .steps!.map((s) => s.run ?? '')
      .join('\n')
      .replaceAll('$NAME_PREFIX', NAME_PREFIX)
      .replaceAll('$STAGE', STAGE)
      .replaceAll('$AWS_ACCOUNT_ID', ACCOUNT);
    const bootstrap = new Evaluator(await loadInfra('bootstrap.yml'));
    const airflow = new Evaluator(await loadInfra('airflow.yml'));
    expect(script).to.include(`repo="${bootstrap.physical('WorkerImageRepository').ref}"`);
    expect(script).to.include(`--stack-name "${NAME_PREFIX}-${STAGE}"`);
    expect(script).to.include(`--role-arn "${bootstrap.physical('CloudFormationExecutionRole').attrs.Arn}"`);
    expect(script).to.include(`"s3://${airflow.physical('AirflowSourceBucket').ref}/dags/"`);
  });
});
