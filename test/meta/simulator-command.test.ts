import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { buildProgram } from '../../src/cli.ts';
import { registerDevCommands } from '../../tools/commands/register.ts';
import { faultsFromFlags } from '../../tools/commands/simulator.ts';
import { pollUntil, TOKEN, validItem } from './helpers.ts';

describe('catalog-sync simulator (command)', () => {
  it('--help explains the token, the options and the fault flags', () => {
    const cmd = buildProgram([registerDevCommands]).commands.find((c) => c.name() === 'simulator')!;
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    for (const needle of [
      '--port',
      '--token',
      'META_ACCESS_TOKEN',
      '--processing-delay-ms',
      '--hourly-call-budget',
    ]) {
      expect(help).to.include(needle);
    }
    for (const flag of [
      '--throttle',
      '--status-throttle',
      '--server-error-rate',
      '--code2-rate',
      '--latency-ms',
    ]) {
      expect(help).to.include(flag);
    }
    expect(help).to.include('--invalid-token').and.include('--reject-ids').and.include('/_admin/faults');
  });

  it('turns fault flags into the admin faults format', () => {
    expect(
      faultsFromFlags({
        throttle: 2,
        statusThrottle: true,
        invalidToken: 460,
        code2Rate: 0.1,
        rejectIds: '^BAD',
        error: [{ code: 4, rate: 0.5 }],
        faults: { latencyMs: 5 },
        seed: 9,
      }),
    ).to.deep.equal({
      latencyMs: 5,
      throttle: { etaMinutes: 2 },
      statusThrottle: true,
      invalidToken: { subcode: 460 },
      code2Rate: 0.1,
      rejectIdPattern: '^BAD',
      errors: [{ code: 4, rate: 0.5 }],
      seed: 9,
    });
    expect(() => faultsFromFlags({ rejectIds: '(' })).to.throw(/rejectIdPattern/);
  });

  it('runs until SIGTERM, printing the Graph, product-list and admin URLs', async () => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        path.join(repoRoot, 'src/main.ts'),
        'simulator',
        '--port',
        '0',
        '--processing-delay-ms',
        '0',
        '--reject-ids',
        '^BAD-',
        '--log-level',
        'warn',
      ],
      {
        env: { ...process.env, META_ACCESS_TOKEN: TOKEN, META_CATALOG_ID: '42' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await pollUntil(
        'the simulator to start',
        async () => (out.includes('Ctrl+C') ? true : undefined),
        10_000,
      );
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      expect(out).to.include(`${base}/v26.0/42/products?format=table`);
      expect(out).to.include(`${base}/_admin`);
      expect(out).to.not.include(TOKEN);
      expect(out).to.include('rejectIdPattern');

      const res = await fetch(`${base}/v26.0/42/items_batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          item_type: 'PRODUCT_ITEM',
          requests: [validItem('OK-1'), validItem('BAD-1')].map((data) => ({ method: 'UPDATE', data })),
        }),
      });
      expect(res.status).to.equal(200);
      const table = await (await fetch(`${base}/v26.0/42/products?format=table`)).text();
      expect(table).to.include('1 products').and.include('OK-1');
      const admin = (await (await fetch(`${base}/_admin/calls`)).json()) as { calls: unknown[] };
      expect(admin.calls).to.have.length(2);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
    expect(out).to.include('simulator stopped (SIGTERM)');
  });
});
