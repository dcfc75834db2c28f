import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../src/aws/moto-server.ts';

/**
 * No Docker engine runs in the test environment, so the image is never built here: these checks read the
 * Dockerfile for what "obviously right" means — the project's Node, production dependencies only, a
 * non-root user, an init process, sources that exist and that the build context lets through.
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
    expect(image).to.match(new RegExp(`^node:${version.replaceAll('.', '\\.')}-`));
    expect(instructions('FROM')).to.deep.equal(['${NODE_IMAGE} AS deps', '${NODE_IMAGE}']);
  });

  it('installs production dependencies only, from the lock file, without install scripts', () => {
    const install = instructions('RUN').find((r) => r.includes('npm '));
    expect(install).to.match(/npm ci --omit=dev --ignore-scripts/);
  });

  it('runs the worker as a non-root user under tini, so SIGTERM reaches node', () => {
    expect(instructions('USER')).to.deep.equal(['node']);
    expect(lines.indexOf('USER node')).to.be.greaterThan(lines.findLastIndex((l) => l.startsWith('COPY ')));
    expect(instructions('RUN').some((r) => /apt-get install .*\btini\b/.test(r))).to.be.true;
    expect(instructions('ENTRYPOINT')).to.deep.equal(['["/usr/bin/tini", "--", "node", "src/main.ts"]']);
    expect(instructions('CMD')).to.deep.equal(['["worker"]']);
    expect(existsSync(path.join(repoRoot, 'src', 'main.ts'))).to.be.true;
  });

  it('copies only sources that exist and that .dockerignore lets into the build context', () => {
    const sources = instructions('COPY')
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources).to.include.members(['package.json', 'package-lock.json', 'src', 'schemas', 'bin']);
    expect(ignore[0], 'allow-list: everything else stays out').to.equal('*');
    for (const source of sources) {
      expect(existsSync(path.join(repoRoot, source)), source).to.be.true;
      expect(ignore, `.dockerignore lets ${source} in`).to.include(`!${source}`);
    }
  });
});
