import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/local-aws/moto-server.ts';

const run = promisify(execFile);

/**
 * A short chaos run (`npm run chaos` does long ones, with 3 workers at once): one worker (plus the overlap
 * of a rolling deploy), a fixed deck of the faults that broke the pipeline before (a batch ending in
 * `error` after applying some items while batches are processed out of order, an 80014 naming no wait, a
 * batch ending in `error` after applying everything), lost S3 events, old events delivered again, SIGKILLs
 * and DAG runs; then the whole oracle (bench/chaos/oracle.ts) must hold. Kept under two minutes on two cores.
 */
describe('chaos run (short)', function () {
  this.timeout(300_000);

  it('keeps every oracle property through faults, lost and old events, kills and DAG runs', async () => {
    const args = [
      path.join(repoRoot, 'bench', 'chaos.ts'),
      ...['--rounds', '3', '--seed', '11', '--ids', '20', '--workers', '1'],
      ...['--faults', 'error-some+reorder,eta0,error-all+reorder'],
      ...['--lost-rate', '0.3', '--redeliver-rate', '0.7', '--converge-seconds', '120'],
    ];
    let stdout: string;
    try {
      ({ stdout } = await run(process.execPath, args, {
        maxBuffer: 1 << 22,
        // Past this the run is stopped (it cleans up on SIGTERM) and its output shown, before mocha gives up.
        timeout: 280_000,
        env: { ...process.env, AWS_ENDPOINT_URL: '' },
      }));
    } catch (err) {
      // The run printed what the oracle saw; show it rather than only the exit code.
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`chaos run failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${e.message}`, {
        cause: err,
      });
    }
    // The run's numbers in the test log: uploads, kills, faults, calls vs bound.
    const summary = stdout
      .split('\n')
      .filter((l) => /^\[chaos\] (rounds|kills|faults|items_batch|oracle|newest)/.test(l));
    console.log(summary.map((l) => `      ${l}`).join('\n'));
    expect(stdout).to.match(/SIGKILL/);
    expect(stdout).to.match(/with its S3 event LOST/);
    expect(stdout).to.match(/old event of .* delivered again/);
    expect(stdout).to.match(/faults drawn: error-some\+reorder ×1, eta0 ×1, error-all\+reorder ×1/);
    expect(stdout).to.match(/items_batch calls \d+ accepted \(\+\d+ refused\) vs bound \d+/);
    expect(stdout).to.include('PASS: newest value of every product in the catalog, none ever went backwards');
  });
});
