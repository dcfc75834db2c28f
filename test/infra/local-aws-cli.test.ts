import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive } from '../../tools/local-aws/local-aws.ts';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'bin', 'catalog-sync');

describe('catalog-sync infra up/down (local AWS lifecycle)', function () {
  this.timeout(60_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cs-local-'));
    env = { ...process.env, CATALOG_SYNC_LOCAL_DIR: dir };
  });
  after(async () => {
    await run(cli, ['infra', 'down'], { env }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts moto, deploys the template, is safe to run twice, and stops without orphans', async () => {
    const first = JSON.parse(
      (await run(cli, ['infra', 'up', '--stage', 'lc', '--json'], { env })).stdout,
    ) as {
      endpoint: string;
      outputs: Record<string, string>;
      env: Record<string, string>;
    };
    expect(first.endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.outputs.LandingBucketName).to.equal('catalog-sync-lc-landing-123456789012');
    expect(first.env.QUEUE_URL).to.equal(first.outputs.QueueUrl);
    expect((await fetch(`${first.endpoint}/moto-api/data.json`)).ok).to.equal(true);

    const status = JSON.parse((await run(cli, ['infra', 'status', '--json'], { env })).stdout) as {
      endpoint: string;
    };
    expect(status.endpoint).to.equal(first.endpoint);

    const second = await run(cli, ['infra', 'up', '--stage', 'lc', '--json'], { env });
    expect(JSON.parse(second.stdout).endpoint).to.equal(first.endpoint);
    expect(second.stderr).to.include('moto already running');

    const port = new URL(first.endpoint).port;
    const { stdout: ps } = await run('pgrep', ['-f', `moto_server -H 127.0.0.1 -p ${port}`]);
    const pid = Number(ps.trim().split('\n')[0]);
    expect(processAlive(pid)).to.equal(true);

    const down = await run(cli, ['infra', 'down'], { env });
    expect(down.stderr).to.include(`stopped moto (pid ${pid})`);
    expect(processAlive(pid)).to.equal(false);
    const again = await run(cli, ['infra', 'down'], { env });
    expect(again.stderr).to.include('nothing to stop');
  });
});
