import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot, waitFor } from '../../tools/local-aws/moto-server.ts';
import { sandboxProcessEnv, startSandbox, type Sandbox } from '../support/sandbox-harness.ts';

/**
 * The worker image, proven without Docker: builds exactly what the Dockerfile puts in the image — its
 * deps stage (`npm ci` with the Dockerfile's flags, production dependencies only, from the lock file)
 * and the final stage's COPY lines — into an empty folder, and runs the image's ENTRYPOINT + CMD from
 * there with the image's ENV, on the same Node major, as an unprivileged user that cannot write the tree
 * (when the tests run as root, as in CI), against moto and the catalog simulator. A CSV uploaded to the
 * landing bucket must reach the simulator's catalog.
 *
 * What this does not prove: the base image's OS libraries, the image build itself, the registry push,
 * ECS's init process and read-only root filesystem as such (README, "What has been measured").
 */

interface Instruction {
  name: string;
  args: string;
}
interface DockerPlan {
  nodeImage: string;
  depsCopies: string[];
  npmCi: string[];
  copies: { from?: string; sources: string[]; dest: string }[];
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

/** The image's PATH, where its node is: the launcher (ENTRYPOINT) runs the node on PATH. */
const imagePath = `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

/** Reads the Dockerfile's two stages: only the instruction forms it uses, anything else fails loudly. */
function planOf(text: string): DockerPlan {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  let nodeImage = '';
  for (const line of lines) {
    const [name, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (name === 'ARG') nodeImage = /^NODE_IMAGE=(\S+)$/.exec(args)?.[1] ?? nodeImage;
    else if (name === 'FROM') stages.push([]);
    else stages.at(-1)!.push({ name: name!, args });
  }
  expect(stages, 'a deps stage and a runtime stage').to.have.length(2);
  const [deps, runtime] = stages as [Instruction[], Instruction[]];
  const copy = (args: string) => {
    const parts = args.split(/\s+/);
    const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    return { from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
  };
  const run = deps.find((i) => i.name === 'RUN' && i.args.includes('npm ci'))!;
  const plan: DockerPlan = {
    nodeImage,
    depsCopies: deps.filter((i) => i.name === 'COPY').flatMap((i) => copy(i.args).sources),
    npmCi: run.args.split('&&')[0]!.trim().split(/\s+/).slice(1),
    copies: [],
    env: {},
    user: '',
    entrypoint: [],
    cmd: [],
  };
  for (const i of runtime) {
    if (i.name === 'COPY') plan.copies.push(copy(i.args));
    else if (i.name === 'ENV')
      // NAME=value pairs; a value with spaces is in double quotes.
      for (const m of i.args.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) plan.env[m[1]!] = m[2] ?? m[3]!;
    else if (i.name === 'USER') plan.user = i.args;
    else if (i.name === 'ENTRYPOINT') plan.entrypoint = JSON.parse(i.args) as string[];
    else if (i.name === 'CMD') plan.cmd = JSON.parse(i.args) as string[];
    else if (i.name !== 'WORKDIR') throw new Error(`runtime stage: ${i.name} is not emulated by this test`);
  }
  return plan;
}

const CATALOG = '1234567000001';
/** A throwaway token the simulator accepts; the worker gets it through its environment, as from ECS. */
const simToken = `rt-${randomBytes(16).toString('hex')}`;
const PRODUCTS = ['RT-1', 'RT-2', 'RT-3'];
const csv = [
  'id,title,description,link,image_link,availability,price,brand',
  ...PRODUCTS.map(
    (id) =>
      `${id},Product ${id},Description of ${id},https://shop.example/p/${id},https://shop.example/i/${id}.jpg,in stock,9.99,Acme`,
  ),
].join('\n');

describe('runtime artefact: what the Dockerfile copies, run from an empty folder', function () {
  this.timeout(300_000);
  let plan: DockerPlan;
  let root: string;
  let app: string;
  let tmp: string;
  let sandbox: Sandbox;
  let worker: ChildProcess | undefined;
  const out: string[] = [];
  const err: string[] = [];
  let exit: { code: number | null; signal: string | null } | undefined;
  /** As root (CI, this machine) the worker runs as "nobody", which owns nothing in the tree. */
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

  before(async function () {
    plan = planOf(await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8'));
    root = await mkdtemp(path.join(os.tmpdir(), 'cs-runtime-'));
    await chmod(root, 0o755);

    // Stage "deps": the lock file and package.json, then npm ci with the Dockerfile's own flags. The
    // local npm cache keeps it fast; --prefer-offline does not change what the lock file resolves to.
    const deps = path.join(root, 'deps');
    await mkdir(deps);
    for (const f of plan.depsCopies) await cp(path.join(repoRoot, f), path.join(deps, f));
    const install = spawnSync('npm', [...plan.npmCi, '--prefer-offline', '--loglevel=error'], {
      cwd: deps,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    expect(install.status, `npm ${plan.npmCi.join(' ')}: ${install.stderr}`).to.equal(0);

    // Stage "runtime": exactly its COPY lines, nothing else.
    app = path.join(root, 'app');
    await mkdir(app);
    for (const c of plan.copies) {
      for (const source of c.sources) {
        const from =
          c.from === 'deps' ? path.join(deps, path.relative('/app', source)) : path.join(repoRoot, source);
        const to = path.join(app, c.dest.endsWith('/') ? path.basename(source) : c.dest);
        if (c.from === 'deps') await rename(from, to);
        else await cp(from, to, { recursive: true });
      }
    }
    tmp = path.join(root, 'tmp');
    await mkdir(tmp);
    if (asUser) await chown(tmp, asUser.uid, asUser.gid);

    sandbox = await startSandbox('rt', { accessToken: simToken, processingDelayMs: 150 });
  });

  after(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await sandbox?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('is built from the Node major the tests run on, with production dependencies only', async () => {
    const major = /^node:(\d+)\./.exec(plan.nodeImage)?.[1];
    expect(major, plan.nodeImage).to.equal(process.versions.node.split('.')[0]);
    expect((await readdir(app)).sort()).to.deep.equal([
      'bin',
      'node_modules',
      'package.json',
      'schemas',
      'src',
    ]);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const installed = new Set(await readdir(path.join(app, 'node_modules')));
    for (const dep of Object.keys(pkg.dependencies)) {
      const top = dep.startsWith('@') ? dep.split('/')[0]! : dep;
      expect(installed, dep).to.include(top);
    }
    for (const dev of Object.keys(pkg.devDependencies))
      expect(existsSync(path.join(app, 'node_modules', dev)), `devDependency ${dev} installed`).to.equal(
        false,
      );
    expect(plan.user).to.match(/^[1-9]\d*:[1-9]\d*$/);
  });

  it('holds the runtime tree only: no tools, tests or bench', () => {
    for (const devTree of ['tools', 'test', 'bench', 'scripts'])
      expect(existsSync(path.join(app, devTree)), `${devTree}/ in the image`).to.equal(false);
    expect(existsSync(path.join(app, 'src', 'main.ts'))).to.equal(true);
    // bin/ holds the launcher only.
    expect(readdirSync(path.join(app, 'bin'))).to.deep.equal(['catalog-sync']);
  });

  it('lists the runtime commands in --help and not the development ones (their registry is in tools/)', () => {
    const [program, ...args] = plan.entrypoint;
    expect(program).to.equal('bin/catalog-sync');
    const help = spawnSync(path.join(app, program!), [...args, '--help'], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: imagePath, ...plan.env },
    });
    expect(help.status, help.stderr).to.equal(0);
    const commands = new Set(
      help.stdout
        .slice(help.stdout.indexOf('Commands:'))
        .split('\n')
        .map((l) => /^ {2}([a-z][\w-]*)/.exec(l)?.[1])
        .filter((c) => c !== undefined),
    );
    for (const runtime of [
      'worker',
      'validate',
      'plan',
      'put',
      'status',
      'redrive',
      'release',
      'discard',
      'state',
    ])
      expect(commands, help.stdout).to.include(runtime);
    for (const dev of ['sandbox', 'simulator', 'infra']) expect(commands, help.stdout).not.to.include(dev);
  });

  it('runs the worker (ENTRYPOINT + CMD, the image ENV) as a non-root user and syncs a landed CSV into the catalog', async () => {
    const [program, ...args] = [...plan.entrypoint, ...plan.cmd];
    expect(program).to.equal('bin/catalog-sync');
    worker = spawn(path.join(app, program!), args, {
      cwd: app,
      ...(asUser ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Nothing from the test process: the image's ENV, the task definition's kind of variables, and AWS.
      env: {
        PATH: imagePath,
        HOME: tmp,
        TMPDIR: tmp,
        ...plan.env,
        ...sandboxProcessEnv(sandbox, { catalogId: CATALOG, accessToken: simToken }),
        MAX_RECEIVE_COUNT: sandbox.stack.outputs.MaxReceiveCount!,
        VISIBILITY_TIMEOUT_S: '30',
        DEBOUNCE_QUIET_MS: '500',
        DEBOUNCE_MAX_HOLD_MS: '10000',
        SQS_WAIT_TIME_S: '1',
        SHUTDOWN_GRACE_MS: '5000',
        STATUS_POLL_INITIAL_MS: '100',
        STATUS_POLL_MAX_MS: '400',
        LOG_LEVEL: 'info',
      },
    });
    worker.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
    worker.stderr!.on('data', (d: Buffer) => err.push(d.toString()));
    worker.once('exit', (code, signal) => (exit = { code, signal }));
    const log = () => `stdout:\n${out.join('').slice(-4000)}\nstderr:\n${err.join('').slice(-4000)}`;

    if (asUser) {
      // Linux: the running process's real and effective uid are the unprivileged one.
      const status = await readFile(`/proc/${worker.pid}/status`, 'utf8');
      const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status)!;
      expect([Number(uids[1]), Number(uids[2])]).to.deep.equal([asUser.uid, asUser.uid]);
    }

    await sandbox.stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: sandbox.stack.landingBucket,
        Key: 'landing/runtime/products.csv',
        Body: csv,
      }),
    );
    await waitFor(
      'the landed products in the simulated catalog',
      async () => {
        if (exit) throw new Error(`the worker exited (${JSON.stringify(exit)})\n${log()}`);
        const ids = new Set(sandbox.sim.products(CATALOG).map((p) => p.id));
        return PRODUCTS.every((id) => ids.has(id));
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    expect(err.join(''), 'no module or permission errors').not.to.match(/ERR_MODULE_NOT_FOUND|EACCES|EROFS/);

    // Metrics come out of the artefact too: EMF lines on stdout under the default namespace.
    const emf = out
      .join('')
      .split('\n')
      .filter((l) => l.includes('"_aws"'));
    expect(emf.length, log()).to.be.greaterThan(0);

    // SIGTERM, as ECS sends it: the worker flushes or releases and exits 0 by itself.
    worker.kill('SIGTERM');
    await waitFor('the worker to exit after SIGTERM', async () => exit !== undefined, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(exit, log()).to.deep.equal({ code: 0, signal: null });
  });
});
