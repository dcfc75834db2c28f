import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot, waitFor } from '../../tools/local-aws/moto-server.ts';
import { covers } from '../../src/worker/manifest.ts';
import { startSandbox } from '../support/sandbox-harness.ts';
import { CATALOG, csv, ids, StackView, TOKEN, workerEnv } from './harness.ts';

/**
 * Done-when 7: `bin/catalog-sync worker` as a child process, killed with SIGKILL at each stage (read from
 * its own JSON log lines) and started again, loses nothing: every product ends with its newest values.
 */

const BIN = path.join(repoRoot, 'bin', 'catalog-sync');

interface Run {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function spawnWorker(env: Record<string, string>, onLine: (entry: Record<string, unknown>) => void): Run {
  const child = spawn(BIN, ['worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL!,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const take = (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts.filter((l) => l !== '')) {
      lines.push(line);
      try {
        onLine(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not JSON (an EMF metrics line is JSON too; anything else is a crash message): kept in `lines`.
      }
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function scenario(stage: string) {
  // A slow catalog, so the worker is still polling when it is killed in that stage.
  const { stack, sim } = await startSandbox(`k-${stage.slice(0, 6)}`, {
    accessToken: TOKEN,
    processingDelayMs: 1500,
  });
  const env = workerEnv(stack, sim, {
    DEBOUNCE_QUIET_MS: '400',
    VISIBILITY_TIMEOUT_S: '4',
    LOG_LEVEL: 'info',
  });
  const view = new StackView(stack);
  const output: string[] = [];
  try {
    let killed = false;
    const first = spawnWorker(env, (e) => {
      if (!killed && e.stage === stage) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    await waitFor(
      'first worker started',
      async () => first.lines.some((l) => l.includes('"worker started"')),
      {
        timeoutMs: 20_000,
      },
    );
    const e1 = await view.upload('landing/k1.csv', csv(ids(1, 40).map((id) => ({ id, price: '1.00' }))));
    const e2 = await view.upload('landing/k2.csv', csv(ids(20, 60).map((id) => ({ id, price: '2.00' }))));
    const code = await first.exited;
    output.push(...first.lines);
    expect(killed, `the worker reached stage ${stage}`).to.equal(true);
    expect(code).to.equal(null); // killed by a signal

    const second = spawnWorker(env, () => {});
    try {
      await waitFor(
        `every product with its newest value after a kill at ${stage}`,
        async () => {
          const p = new Map(sim.products(CATALOG).map((x) => [x.id, x.price]));
          return (
            ids(1, 19).every((id) => p.get(id) === '1.00 USD') &&
            ids(20, 60).every((id) => p.get(id) === '2.00 USD')
          );
        },
        { timeoutMs: 45_000, intervalMs: 200 },
      );
      // The DAG's view: every landing file is covered by a finished manifest, and the queue is empty.
      await waitFor(
        'both files covered by finished manifests',
        async () => {
          const finished = (await view.manifests()).filter((m) => m.state === 'finished');
          return [
            { bucket: stack.landingBucket, key: 'landing/k1.csv', etag: e1.etag },
            { bucket: stack.landingBucket, key: 'landing/k2.csv', etag: e2.etag },
          ].every((file) => finished.some((m) => covers(m, file)));
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await waitFor('queue drained', async () => (await view.depth()) === 0, { timeoutMs: 30_000 });
    } finally {
      second.child.kill('SIGTERM');
      const exit = await second.exited;
      output.push(...second.lines);
      expect(exit, 'SIGTERM exits 0').to.equal(0);
    }
    expect(output.join('\n')).to.not.include(TOKEN);
  } catch (err) {
    if (process.env.WORKER_TEST_DUMP) console.log(output.join('\n'));
    throw err;
  } finally {
    await sim.stop();
  }
}

describe('worker: crash recovery (child process, SIGKILL)', function () {
  this.timeout(120_000);

  it('killed at each stage (window open, manifest written, after items_batch, while polling) and restarted, loses nothing', async () => {
    const stages = ['window-open', 'manifest-written', 'items-batch-accepted', 'polling'];
    const results = await Promise.allSettled(stages.map((s) => scenario(s)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${stages[i]}: ${String(r.reason)}`] : [],
    );
    expect(failures).to.deep.equal([]);
  });
});

describe('worker: graceful shutdown (child process, SIGTERM)', function () {
  this.timeout(60_000);

  it('on SIGTERM flushes the open window within the grace period and exits 0', async () => {
    const { stack, sim } = await startSandbox('k-term', { accessToken: TOKEN, processingDelayMs: 100 });
    try {
      // A quiet period far longer than the test: only the shutdown can flush this window.
      const env = workerEnv(stack, sim, { DEBOUNCE_QUIET_MS: '600000', DEBOUNCE_MAX_HOLD_MS: '600000' });
      let opened = false;
      const run = spawnWorker(env, (e) => (opened ||= e.stage === 'window-open'));
      await waitFor('worker started', async () => run.lines.some((l) => l.includes('"worker started"')), {
        timeoutMs: 20_000,
      });
      const view = new StackView(stack);
      await view.upload('landing/term.csv', csv(ids(1, 25)));
      await waitFor('file read into the window', async () => opened);
      run.child.kill('SIGTERM');
      expect(await run.exited).to.equal(0);
      expect(sim.products(CATALOG)).to.have.length(25);
      expect(await view.depth()).to.equal(0);
      expect(run.lines.some((l) => l.includes('"reason":"shutdown"'))).to.equal(true);
    } finally {
      await sim.stop();
    }
  });
});
