import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/local-aws/moto-server.ts';

const run = promisify(execFile);

describe('catalog-sync sandbox', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cs-sandbox-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('provisions local AWS from the template, starts simulator and worker, and syncs the sample products', async () => {
    const { stdout } = await run(
      path.join(repoRoot, 'bin', 'catalog-sync'),
      ['sandbox', '--once', '--quiet-ms', '500', '--timeout', '90'],
      { env: { ...process.env, CATALOG_SYNC_LOCAL_DIR: dir, AWS_ENDPOINT_URL: '' } },
    );
    expect(stdout).to.match(/synced 5 products in [\d.]+ s with 1 items_batch call\(s\)/);
    expect(stdout).to.include('/v26.0/100000000000001/products');
    expect(stdout).to.include('export QUEUE_URL=http://127.0.0.1:');
    // The throwaway token goes to the worker through its environment and is never printed.
    expect(stdout).not.to.match(/EAA[0-9a-f]{20,}/);
    const { stdout: ps } = await run('ps', ['-eo', 'args']);
    expect(ps).not.to.include(dir);
  });
});
