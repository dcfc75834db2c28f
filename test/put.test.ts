import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../tools/local-aws/moto-server.ts';
import { buildProgram } from '../src/cli.ts';
import { uploadFile } from '../src/ops/landing-upload.ts';
import { waitUntilFinal } from '../src/ops/upload-outcome.ts';
import { hourKey } from '../src/shared/hours.ts';
import { createProgress } from '../src/progress.ts';
import { empty } from './ops/support.ts';
import { batch, manifest, putManifest, source } from './ops/fixtures.ts';
import { deployTestStack, type TestStack } from './support/sandbox-harness.ts';
import { cliPath, runCli, type CliRun } from './support/cli.ts';

const run = runCli;
const cli = cliPath;
type Run = CliRun;

/** Runs the CLI in the background; `done` resolves when it exits. */
function start(args: string[], env: NodeJS.ProcessEnv): { done: Promise<Run> } {
  const child = spawn(cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    done: new Promise((resolve) =>
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr })),
    ),
  };
}

const CSV =
  'id,title,description,link,image_link,availability,price,brand\nP-1,A,,https://e.x/1,https://e.x/1.jpg,in stock,1.00,Acme\n';

describe('catalog-sync put', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let fileA: string;
  let fileB: string;

  before(async () => {
    stack = await deployTestStack('put');
    env = {
      ...process.env,
      LANDING_BUCKET: stack.landingBucket,
      SYNCED_BUCKET: stack.syncedBucket,
      QUEUE_URL: stack.queueUrl,
    };
    dir = await mkdtemp(path.join(tmpdir(), 'cs-put-'));
    fileA = path.join(dir, 'a.csv');
    fileB = path.join(dir, 'b.csv');
    await writeFile(fileA, CSV);
    await writeFile(fileB, CSV.replace('P-1', 'P-2'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('--help explains every flag, with examples and exit codes', () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'put')!;
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    for (const flag of ['--key', '--wait', '--timeout', '--json', '--lose-event'])
      expect(help).to.include(flag);
    expect(help).to.include('Examples:');
    expect(help).to.match(/Exit status: 0 uploaded/);
  });

  it('uploads each file under the landing prefix and prints its key; --key names the object', async () => {
    const r = await run(['put', fileA, fileB], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`s3://${stack.landingBucket}/landing/a.csv`);
    expect(r.stdout).to.include(`s3://${stack.landingBucket}/landing/b.csv`);
    const got = await stack.clients.s3.send(
      new GetObjectCommand({ Bucket: stack.landingBucket, Key: 'landing/a.csv' }),
    );
    expect(await got.Body!.transformToString()).to.equal(CSV);

    const k = await run(['put', fileA, '--key', 'landing/2026-11-25/custom.csv', '--json'], env);
    expect(k.code, k.stderr).to.equal(0);
    const out = JSON.parse(k.stdout) as { uploads: { key: string; etag: string }[] };
    expect(out.uploads.map((u) => u.key)).to.deep.equal(['landing/2026-11-25/custom.csv']);
    expect(out.uploads[0]!.etag).to.match(/^[0-9a-f]{32}$/);
  });

  it('says what is wrong and what to do, with exit status 2', async () => {
    const both = await run(['put', fileA, fileB, '--key', 'landing/x.csv'], env);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.include('--key names one object, but 2 files were given');
    const missing = await run(['put', path.join(dir, 'nope.csv')], env);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/nope\.csv is not a file: give the path of a CSV file/);
    const { LANDING_BUCKET: _l, ...noBucket } = env;
    const unset = await run(['put', fileA], noBucket);
    expect(unset.code).to.equal(2);
    expect(unset.stderr).to.include('LANDING_BUCKET is required');
    const badTimeout = await run(['put', fileA, '--wait', '--timeout', 'soon'], env);
    expect(badTimeout.code).to.equal(2);
    expect(badTimeout.stderr).to.include('expected a whole number of seconds');
  });

  it('--wait follows the file until a manifest covering its key and ETag is final, then prints the outcome', async () => {
    const key = `landing/wait-${Date.now()}.csv`;
    const bg = start(['put', fileA, '--key', key, '--wait', '--timeout', '40', '--json'], env);
    let etag = '';
    await waitFor('the upload', async () => {
      const head = await stack.clients.s3.send(
        new HeadObjectCommand({ Bucket: stack.landingBucket, Key: key }),
      );
      etag = head.ETag!.replace(/"/g, '');
      return true;
    });
    const hour = hourKey(new Date());
    const src = source(
      key,
      { total: 3, valid: 2, rejected: 1 },
      {
        bucket: stack.landingBucket,
        etag,
        errorReportKey: `errors/rows/${hour}/x.json`,
      },
    );
    // Not this upload: another ETag of the same key, and an abandoned manifest.
    await putManifest(
      stack.clients.s3,
      stack.syncedBucket,
      hour,
      manifest(hour, `${hour}-other`, {
        sources: [{ ...src, etag: 'another-etag' }],
        state: 'finished',
      }),
    );
    await putManifest(
      stack.clients.s3,
      stack.syncedBucket,
      hour,
      manifest(hour, `${hour}-abandoned`, {
        sources: [src],
        state: 'abandoned',
      }),
    );
    await putManifest(
      stack.clients.s3,
      stack.syncedBucket,
      hour,
      manifest(hour, `${hour}-mine`, {
        sources: [src, source('landing/other.csv', {}, { bucket: stack.landingBucket })],
        state: 'finished',
        batches: [batch(0)],
        counts: {
          items: 4,
          accepted: 2,
          rejected: 1,
          superseded: 1,
          unknown: 0,
          rowsRejected: 1,
          calls: 1,
        } as never,
        errorReportKeys: [`errors/meta/${hour}/${hour}-mine.json`],
      }),
    );
    const r = await bg.done;
    expect(r.code, r.stderr).to.equal(1); // rows and items were rejected
    const out = JSON.parse(r.stdout) as {
      outcomes: {
        key: string;
        final: boolean;
        manifests: {
          manifestId: string;
          items: unknown;
          rows: unknown;
          otherFiles: number;
          reportKeys: string[];
        }[];
      }[];
    };
    const [o] = out.outcomes;
    expect(o!.final).to.be.true;
    expect(o!.manifests.map((m) => m.manifestId)).to.deep.equal([`${hour}-mine`]);
    expect(o!.manifests[0]!.items).to.deep.equal({
      total: 4,
      accepted: 2,
      rejected: 1,
      superseded: 1,
      unknown: 0,
    });
    expect(o!.manifests[0]!.rows).to.deep.equal({ total: 3, valid: 2, rejected: 1, unchanged: 0, older: 0 });
    expect(o!.manifests[0]!.otherFiles).to.equal(1);
    expect(o!.manifests[0]!.reportKeys).to.deep.equal([
      `errors/rows/${hour}/x.json`,
      `errors/meta/${hour}/${hour}-mine.json`,
    ]);
  });

  it('--wait keeps waiting while the manifest is submitted or has items of unknown fate, showing progress on a TTY', async () => {
    const key = `landing/progress-${Date.now()}.csv`;
    const u = await uploadFile(stack.clients.s3, stack.landingBucket, key, fileB);
    const tty = { isTTY: true, columns: 200, out: '', write: (s: string) => (tty.out += s) };
    const progress = createProgress({
      label: 'put --wait (1 file)',
      unit: 'items',
      stream: tty,
      minRedrawMs: 0,
    });
    const waiting = waitUntilFinal({
      s3: stack.clients.s3,
      syncedBucket: stack.syncedBucket,
      syncedPrefix: 'synced/',
      uploads: [u],
      timeoutMs: 40_000,
      pollMs: 100,
      progress,
    });
    const hour = hourKey(new Date());
    const src = source(key, { total: 1, valid: 1, rejected: 0 }, { bucket: u.bucket, etag: u.etag });
    await waitFor('progress to say the worker has not picked the file up', async () =>
      tty.out.includes('1 file(s) not yet picked up by the worker'),
    );
    const m = manifest(hour, `${hour}-progress`, {
      sources: [src],
      state: 'submitted',
      counts: { items: 10, accepted: 4, rejected: 0, unknown: 6, rowsRejected: 0, calls: 1 },
    });
    await putManifest(stack.clients.s3, stack.syncedBucket, hour, m);
    await waitFor('progress to show the submitted manifest', async () =>
      tty.out.includes('[submitted]: 4 of 10 items'),
    );
    await putManifest(stack.clients.s3, stack.syncedBucket, hour, {
      ...m,
      state: 'finished',
      counts: { ...m.counts, unknown: 6 },
    });
    await waitFor('progress to show the finished manifest', async () =>
      tty.out.includes('[finished]: 4 of 10 items'),
    );
    await putManifest(stack.clients.s3, stack.syncedBucket, hour, {
      ...m,
      state: 'finished',
      counts: { ...m.counts, accepted: 10, unknown: 0 },
    });
    const [o] = await waiting;
    expect(o!.final).to.be.true;
    expect(o!.manifests[0]!.items.accepted).to.equal(10);
    expect(tty.out).to.include('[finished]: 10 of 10 items (100%)');
  });

  it('--wait gives up after --timeout with exit status 3 and says where to look', async () => {
    const r = await run(
      ['put', fileA, '--key', `landing/never-${Date.now()}.csv`, '--wait', '--timeout', '2'],
      env,
    );
    expect(r.code).to.equal(3);
    expect(r.stdout).to.match(/not final after \d s: no manifest covers it yet/);
    expect(r.stderr).to.include('`catalog-sync status` shows where each window is');
  });

  it('--lose-event uploads without the S3 event (sandbox only: refused unless the endpoint is local)', async () => {
    await empty(stack.clients.sqs, stack.queueUrl);
    const lost = `landing/lost-${Date.now()}.csv`;
    const r = await run(['put', fileA, '--key', lost, '--lose-event'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('no event sent');
    const kept = `landing/kept-${Date.now()}.csv`;
    expect((await run(['put', fileA, '--key', kept], env)).code).to.equal(0);
    // Every message up to the event of the second upload: none names the first.
    const bodies: string[] = [];
    await waitFor('the event of the second upload', async () => {
      const got = await stack.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      bodies.push(...(got.Messages ?? []).map((m) => m.Body ?? ''));
      return bodies.some((b) => b.includes(path.basename(kept))); // keys are URL-encoded in events
    });
    expect(bodies.some((b) => b.includes(path.basename(lost)))).to.be.false;
    await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.landingBucket, Key: lost }));

    const remote = await run(['put', fileA, '--lose-event'], {
      ...env,
      AWS_ENDPOINT_URL: 'https://s3.example.com',
    });
    expect(remote.code).to.equal(2);
    expect(remote.stderr).to.include('only allowed when AWS_ENDPOINT_URL points at a local emulator');
  });
});
