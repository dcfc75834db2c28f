import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { repoRoot, waitFor } from '../tools/local-aws/moto-server.ts';
import { browserMissing, launchBrowser, screenshotPath } from './support/browser.ts';

/**
 * `catalog-sync sandbox --airflow` as a new user runs it: moto, the simulator, the worker and real
 * Airflow 3 (API server, scheduler, DAG processor) with the project's dags/, the DAG every minute.
 * Checks that a scheduled DAG run succeeds and archives the synced sample file, that the drop folder
 * uploads a file, that a headless browser sees the DAG and its run in the Airflow UI and the products on
 * the catalog page, and that Ctrl-C leaves no process behind.
 */

/** Processes whose environment names this folder: everything the sandbox started (and itself). */
async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = await readFile(`/proc/${entry}/environ`, 'utf8');
      if (env.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('catalog-sync sandbox --airflow (real Airflow 3, headless Chromium)', function () {
  this.timeout(300_000);
  let dir: string;
  let sandbox: ChildProcess;
  let stdout = '';
  let exit: number | null = null;
  let airflowUrl = '';
  let password = '';
  let catalogPage = '';
  let dropDir = '';
  let env: Record<string, string> = {};

  const out = () => `\n--- sandbox output ---\n${stdout.slice(-4000)}`;

  before(async function () {
    this.timeout(400_000);
    dir = await mkdtemp(path.join(tmpdir(), 'cs-sandbox-airflow-'));
    sandbox = spawn(
      path.join(repoRoot, 'bin', 'catalog-sync'),
      ['sandbox', '--airflow', '--dag-schedule', '* * * * *', '--quiet-ms', '500', '--timeout', '120'],
      {
        env: { ...process.env, CATALOG_SYNC_LOCAL_DIR: dir, AWS_ENDPOINT_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    sandbox.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    sandbox.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
    sandbox.once('exit', (code) => (exit = code ?? 1));
    const started = Date.now();
    await waitFor(
      'the sandbox with Airflow to be running',
      async () => {
        if (exit !== null) throw new Error(`the sandbox exited with ${exit}${out()}`);
        return stdout.includes('Running.');
      },
      { timeoutMs: 360_000, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}${out()}`);
    });
    console.log(`      sandbox with Airflow up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const ui = /Airflow UI:\s+(http:\/\/127\.0\.0\.1:\d+)\s+login: admin \/ (\S+)/.exec(stdout);
    expect(ui, out()).to.not.equal(null);
    [, airflowUrl, password] = ui as unknown as [string, string, string];
    catalogPage = /Catalog page \(open in a browser\):\s+(\S+)/.exec(stdout)![1]!;
    dropDir = /Drop folder \(files are uploaded\):\s+(\S+)/.exec(stdout)![1]!;
    env = Object.fromEntries([...stdout.matchAll(/^ {2}export (\w+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]));
  });

  after(async function () {
    this.timeout(60_000);
    if (exit === null) {
      sandbox.kill('SIGINT');
      await waitFor('the sandbox to stop', async () => exit !== null, { timeoutMs: 45_000 }).catch(() =>
        sandbox.kill('SIGKILL'),
      );
    }
    // Anything still running from this test's folder is ours: end it by pid (the test has failed already).
    for (const pid of await processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  describe('while it runs', () => {
    it('prints the Airflow UI with its login, the catalog page, the drop folder and the CLI environment', () => {
      expect(stdout).to.match(
        /\[6\/6\] starting Airflow 3 with dags\/ \(DAG catalog_reconciliation on "\* \* \* \* \*"\)/,
      );
      expect(stdout).to.match(/synced 5 products in [\d.]+ s/);
      expect(catalogPage).to.match(/^http:\/\/127\.0\.0\.1:\d+\/v26\.0\/100000000000001\/products$/);
      expect(dropDir).to.equal(path.join(dir, 'sandbox', 'drop'));
      expect(env.LANDING_BUCKET).to.match(/^catalog-sync-sandbox-landing-/);
      expect(stdout).to.include(`(also in ${path.join(dir, 'sandbox', 'env.sh')})`);
    });

    it('runs the reconciliation DAG on its schedule until a run succeeds, and the run archives the synced sample', async () => {
      const token = async () => {
        const res = await fetch(`${airflowUrl}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password }),
        });
        expect(res.status, 'the printed login must work').to.equal(201);
        return ((await res.json()) as { access_token: string }).access_token;
      };
      const jwt = await token();
      let runs: { dag_run_id: string; state: string; run_type: string }[] = [];
      await waitFor(
        'a scheduled run of catalog_reconciliation to succeed',
        async () => {
          const res = await fetch(`${airflowUrl}/api/v2/dags/catalog_reconciliation/dagRuns?state=success`, {
            headers: { authorization: `Bearer ${jwt}` },
          });
          if (!res.ok) return false;
          runs = ((await res.json()) as { dag_runs: typeof runs }).dag_runs;
          return runs.length > 0;
        },
        { timeoutMs: 200_000, intervalMs: 2000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}${out()}`);
      });
      expect(runs[0]!.run_type).to.equal('scheduled');
      await waitFor('the sandbox to report the run', async () =>
        /DAG catalog_reconciliation: run scheduled__\S+ success/.test(stdout),
      );

      // The run's archive task moved the sample file (its manifest is finished) out of landing/.
      const s3 = new S3Client({
        endpoint: env.AWS_ENDPOINT_URL,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const keys = async (prefix: string) =>
        (
          (await s3.send(new ListObjectsV2Command({ Bucket: env.LANDING_BUCKET, Prefix: prefix })))
            .Contents ?? []
        ).map((o) => o.Key!);
      await waitFor('the sample file to be archived', async () =>
        (await keys('archive/sandbox/')).some((k) => k.endsWith('-products.csv')),
      );
      expect((await keys('landing/sandbox/')).filter((k) => k.endsWith('-products.csv'))).to.deep.equal([]);
      s3.destroy();
    });

    it('uploads a file dropped into the drop folder once it is complete, and moves it aside', async () => {
      const csv =
        'id,title,description,link,image_link,availability,price,brand\n' +
        'DROP-1,Dropped lamp,A lamp,https://shop.example/d1,https://shop.example/d1.jpg,in stock,19.99,Acme\n';
      await writeFile(path.join(dropDir, 'dropped.csv'), csv);
      await waitFor(
        'the sandbox to report the upload',
        async () => stdout.includes('dropped dropped.csv -> s3://'),
        {
          timeoutMs: 20_000,
        },
      );
      await waitFor(
        'the dropped product in the catalog',
        async () => {
          const res = await fetch(`${catalogPage}?format=json`);
          const { data } = (await res.json()) as { data: { retailer_id: string }[] };
          return data.some((p) => p.retailer_id === 'DROP-1');
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      expect((await readdir(dropDir)).filter((f) => f.endsWith('.csv'))).to.deep.equal([]);
      expect((await readdir(path.join(dropDir, 'uploaded'))).some((f) => f.endsWith('-dropped.csv'))).to.be
        .true;
    });
  });

  describe('in a headless browser', function () {
    let browser: Browser | undefined;
    before(async function () {
      const missing = browserMissing();
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      browser = await launchBrowser();
    });
    after(async () => browser?.close());

    it('logs in to the Airflow UI with the printed login and sees the DAG and its successful run', async () => {
      const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${airflowUrl}/`);
      await page.waitForURL(/\/auth\/login/);
      await page.fill('input[name=username]', 'admin');
      await page.fill('input[name=password]', password);
      await page.click('button[type=submit]');
      await page.waitForURL((u) => !u.pathname.startsWith('/auth/'));

      await page.goto(`${airflowUrl}/dags`);
      await page.getByText('catalog_reconciliation').first().waitFor();
      const list = await screenshotPath('airflow-dags.png');
      await page.screenshot({ path: list });
      console.log(`      screenshot: ${list}`);

      await page.goto(`${airflowUrl}/dags/catalog_reconciliation/runs`);
      await page
        .getByText(/^scheduled__/)
        .first()
        .waitFor();
      await page.getByText('Success', { exact: true }).first().waitFor();
      const body = await page.locator('body').innerText();
      expect(body).to.include('catalog_reconciliation');
      expect(body).to.match(/scheduled__\S+\s+[\s\S]*Success/);
      const runs = await screenshotPath('airflow-dag-runs.png');
      await page.screenshot({ path: runs });
      console.log(`      screenshot: ${runs}`);
      await page.close();
    });

    it('shows the catalog page with the sample and the dropped products', async () => {
      const page = await browser!.newPage({ viewport: { width: 1400, height: 700 } });
      await page.goto(catalogPage);
      expect(await page.locator('#products tbody tr').count()).to.equal(6);
      await page.fill('#search', 'DROP');
      expect(await page.locator('#products tbody tr:visible').count()).to.equal(1);
      expect(await page.locator('#products tbody tr:visible td').nth(1).textContent()).to.equal(
        'Dropped lamp',
      );
      await page.fill('#search', '');
      const shot = await screenshotPath('sandbox-catalog.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`      screenshot: ${shot}`);
      await page.close();
    });
  });

  describe('Ctrl-C', () => {
    it('Ctrl-C stops Airflow, the worker, the simulator and moto: no process is left', async () => {
      const before = await processesUsing(dir);
      expect(
        before.length,
        'Airflow and the worker run with the sandbox folder in their environment',
      ).to.be.greaterThan(4);
      sandbox.kill('SIGINT');
      await waitFor('the sandbox to exit', async () => exit !== null, { timeoutMs: 60_000 });
      expect(exit, out()).to.equal(0);
      expect(stdout).to.include('stopping: Airflow, worker (flushes first), simulator, moto');
      await waitFor(
        'every process of the sandbox to be gone',
        async () => (await processesUsing(dir)).length === 0,
        {
          timeoutMs: 10_000,
        },
      ).catch(async (err: Error) => {
        const left = await processesUsing(dir);
        const cmds = await Promise.all(left.map((p) => readlink(`/proc/${p}/exe`).catch(() => '?')));
        throw new Error(`${err.message}: ${left.map((p, i) => `${p} ${cmds[i]}`).join(', ')}`);
      });
    });
  });
});
