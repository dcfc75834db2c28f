import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { Evaluator, loadInfra } from './support/cfn-eval.ts';

/**
 * No Docker engine runs in the test environment, so the image is never built here: these checks read the
 * Dockerfile for what "obviously right" means — the project's Node, production dependencies only, a
 * non-root user, no package manager run in the image, sources that exist and that the build context lets
 * through. test/runtime/runtime-artefact.test.ts builds and runs what it copies.
 */
describe('Dockerfile', () => {
  let lines: string[];
  let ignore: string[];

  before(async () => {
    const text = await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
    lines = text
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    ignore = (await readFile(path.join(repoRoot, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  });

  const instructions = (name: string) =>
    lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));

  it('builds on the Node version scripts/setup.sh installs', async () => {
    const setup = await readFile(path.join(repoRoot, 'scripts', 'setup.sh'), 'utf8');
    const version = /^NODE_VERSION=([\d.]+)/m.exec(setup)![1]!;
    const image = /^NODE_IMAGE=(\S+)$/.exec(instructions('ARG')[0]!)![1]!;
    // The official slim image of that exact version, and a digest only if it is a real sha256 one.
    expect(image).to.match(
      new RegExp(`^node:${version.replaceAll('.', '\\.')}-bookworm-slim(@sha256:[0-9a-f]{64})?$`),
    );
    expect(instructions('FROM')).to.deep.equal(['${NODE_IMAGE} AS deps', '${NODE_IMAGE}']);
  });

  it('installs production dependencies only, from the lock file, without install scripts', () => {
    const install = instructions('RUN').find((r) => r.includes('npm '));
    expect(install).to.match(/npm ci --omit=dev --ignore-scripts/);
  });

  it('runs the worker as a numeric non-root user, after every COPY, with no package manager run in the image', () => {
    const [user] = instructions('USER');
    expect(instructions('USER')).to.have.length(1);
    const [uid, gid] = user!.split(':').map(Number);
    expect(uid, 'numeric uid').to.be.a('number').and.greaterThan(0);
    expect(gid, 'numeric gid').to.be.a('number').and.greaterThan(0);
    expect(lines.indexOf(`USER ${user}`)).to.be.greaterThan(
      lines.findLastIndex((l) => l.startsWith('COPY ')),
    );
    const finalStage = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
    expect(
      finalStage.filter((l) => l.startsWith('RUN ')),
      'nothing installed into the runtime image',
    ).to.deep.equal([]);
    // The launcher sizes the heap from the container's memory, then runs node on src/main.ts.
    expect(instructions('ENTRYPOINT')).to.deep.equal(['["bin/catalog-sync"]']);
    expect(instructions('CMD')).to.deep.equal(['["worker"]']);
    expect(existsSync(path.join(repoRoot, 'src', 'main.ts'))).to.be.true;
    expect(readFileSync(path.join(repoRoot, 'bin', 'catalog-sync'), 'utf8')).to.include('src/main.ts');
  });

  it('relies on the task definition for an init process (PID 1 forwards SIGTERM, reaps zombies)', async () => {
    const ev = new Evaluator(await loadInfra('worker-service.yml'));
    const [container] = (
      ev.eval(ev.template.Resources.WorkerTaskDefinition!.Properties) as {
        ContainerDefinitions: { LinuxParameters?: { InitProcessEnabled?: boolean }; User?: string }[];
      }
    ).ContainerDefinitions;
    expect(container!.LinuxParameters?.InitProcessEnabled).to.equal(true);
    expect(container!.User, 'the image decides the user; the task does not override it to root').to.equal(
      undefined,
    );
  });

  it('copies only sources that exist and that .dockerignore lets into the build context', () => {
    const sources = instructions('COPY')
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources).to.have.members([
      'package.json',
      'package-lock.json',
      'package.json',
      'src',
      'schemas',
      'bin',
    ]);
    expect(ignore[0], 'allow-list: everything else stays out').to.equal('*');
    for (const source of sources) {
      expect(existsSync(path.join(repoRoot, source)), source).to.be.true;
      expect(ignore, `.dockerignore lets ${source} in`).to.include(`!${source}`);
    }
    // ...and lets in nothing the Dockerfile does not copy.
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    expect([...new Set(allowed)]).to.have.members([...new Set(sources)]);
  });
});
