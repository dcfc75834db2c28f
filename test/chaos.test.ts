import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../src/aws/moto-server.ts';

const run = promisify(execFile);

/** A short chaos run (`npm run chaos` does long ones): kills, faults and DAG runs, then full convergence. */
describe('chaos run (short)', function () {
  this.timeout(300_000);

  it('ends with the newest price of every product in the catalog and landing/ empty', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(repoRoot, 'bench', 'chaos.ts'), '--rounds', '3', '--seed', '11', '--ids', '20'],
      { maxBuffer: 1 << 22, env: { ...process.env, AWS_ENDPOINT_URL: '' } },
    );
    expect(stdout).to.match(/SIGKILL worker generation \d+/);
    expect(stdout).to.include(
      'PASS: the catalog holds the newest price of every product and landing/ is empty',
    );
  });
});
