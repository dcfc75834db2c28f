import { expect } from 'chai';
import { buildProgram } from '../../src/cli.ts';
import { hourKey } from '../../src/shared/hours.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';
import { batch, manifest, putManifest, putStates, stateEntry } from './fixtures.ts';
import { depth, drain, empty, reason, s3EventBody, sendAll } from './support.ts';
import { runCli } from '../support/cli.ts';

const run = runCli;

describe('catalog-sync redrive and status (CLI)', function () {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    stack = await deployTestStack('opscli');
    env = {
      ...process.env,
      QUEUE_URL: stack.queueUrl,
      DLQ_URL: stack.dlqUrl,
      SYNCED_BUCKET: stack.syncedBucket,
    };
    await empty(stack.clients.sqs, stack.queueUrl); // the S3 test event from deploying the notification
  });

  for (const name of ['redrive', 'status']) {
    it(`${name} --help explains every flag and shows examples`, () => {
      const help = buildProgram()
        .commands.find((c) => c.name() === name)!
        .helpInformation();
      const flagLines = help.split('\n').filter((l) => /^\s{2}-/.test(l));
      expect(flagLines.length).to.be.greaterThan(3);
      for (const line of flagLines) expect(line.trim(), line).to.match(/^\S.*\S\s{2,}\S/); // flag, then its text
      const full = buildProgram().commands.find((c) => c.name() === name)!;
      let after = '';
      full.configureOutput({ writeOut: (s) => (after += s) });
      full.outputHelp();
      expect(after).to.include('Examples:');
      for (const flag of full.options.map((o) => o.long!)) expect(after).to.include(flag);
    });
  }

  it('says what is missing and how to fix it, with exit status 2', async () => {
    const { DLQ_URL: _d, ...noDlq } = env;
    const r = await run(['redrive', '--list'], noDlq);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/DLQ_URL is not set: pass --dlq-url URL or set DLQ_URL/);

    const bad = await run(['redrive', '--max', 'lots'], env);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/--max must be a whole number/);

    const { SYNCED_BUCKET: _s, ...noBucket } = env;
    const s = await run(['status'], noBucket);
    expect(s.code).to.equal(2);
    expect(s.stderr).to.match(/SYNCED_BUCKET is required/);
  });

  it('redrive: --dry-run lists and changes nothing, then --match moves just those (JSON for scripts)', async () => {
    const { sqs } = stack.clients;
    await sendAll(sqs, stack.dlqUrl, [
      {
        body: s3EventBody('landing', 'landing/acme/1.csv'),
        reason: reason({ error: 'S3 GetObject timed out' }),
      },
      { body: s3EventBody('landing', 'landing/acme/2.csv'), reason: null },
      { body: s3EventBody('landing', 'landing/other/3.csv') },
    ]);

    const dry = await run(['redrive', '--dry-run', '--match', 'landing/acme/*'], env);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/KIND\s+KEY\s+RECEIVES\s+FAILED AT\s+FIRST ERROR/);
    expect(dry.stdout).to.match(
      /s3-event\s+landing\/acme\/1\.csv\s+5\s+\S+\s+transient-exhausted: S3 GetObject timed out/,
    );
    expect(dry.stdout).to.include('no worker verdict');
    expect(dry.stdout).to.include('would move 2 messages');
    expect(dry.stdout).to.include('Nothing was changed');
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 3, inFlight: 0 });
    expect(await depth(sqs, stack.queueUrl)).to.deep.equal({ visible: 0, inFlight: 0 });

    const moved = await run(['redrive', '--match', 'landing/acme/*', '--json'], env);
    expect(moved.code, moved.stderr).to.equal(0);
    const out = JSON.parse(moved.stdout) as {
      kind: string;
      result: { moved: { keys: string[] }[]; notMatched: number };
    };
    expect(out.kind).to.equal('loop');
    expect(out.result.moved.map((e) => e.keys[0]).sort()).to.deep.equal([
      'landing/acme/1.csv',
      'landing/acme/2.csv',
    ]);
    expect(out.result.notMatched).to.equal(1);
    expect(moved.stderr).to.include('redrive: moved s3-event landing/acme/');
    expect((await drain(sqs, stack.queueUrl)).length).to.equal(2);
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 1, inFlight: 0 });
  });

  it('status: the manifest table and queue depths; --product answers in one line; --json parses', async () => {
    const hour = hourKey(new Date());
    const key = await putManifest(
      stack.clients.s3,
      stack.syncedBucket,
      hour,
      manifest(hour, `${hour}-cli`, {
        batches: [batch(0, { rejected: [{ id: 'SKU-9', reason: 'image_link: could not download' }] })],
        counts: { items: 3, accepted: 2, rejected: 1, unknown: 0, calls: 1, rowsRejected: 1 },
      }),
    );
    await putStates(stack.clients.s3, stack.syncedBucket, {
      'SKU-9': stateEntry(key, 0, new Date().toISOString()),
    });

    const table = await run(['status'], env);
    expect(table.code, table.stderr).to.equal(0);
    const lines = table.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('HOUR'))!;
    expect(header).to.match(
      /^HOUR\s+MANIFEST\s+FILES\s+ITEMS SENT\s+CALLS\s+ACCEPTED\s+REJECTED\s+UNKNOWN\s+STATE$/,
    );
    const row = lines.find((l) => l.includes(`${hour}-cli`))!;
    expect(row).to.match(new RegExp(`^${hour}\\s+${hour}-cli\\s+1\\s+3\\s+1\\s+2\\s+1\\s+0\\s+finished$`));
    // Columns line up: every cell starts or ends under its header.
    expect(row.indexOf('finished')).to.equal(header.indexOf('STATE'));
    expect(table.stdout).to.match(/dead-letter queue\s+1\s+0\s+0/);
    expect(table.stdout).to.include('catalog-sync redrive --list');

    const product = await run(['status', '--product', 'SKU-9'], env);
    expect(product.code, product.stderr).to.equal(0);
    expect(product.stdout).to.match(
      /^SKU-9: did NOT reach the catalog\. Meta rejected it: image_link: could not download/,
    );

    const json = JSON.parse((await run(['status', '--json', '--hours', '2'], env)).stdout) as {
      hours: number;
      manifests: { manifestId: string }[];
      queues: { dlq: { visible: number } };
    };
    expect(json.hours).to.equal(2);
    expect(json.manifests.map((m) => m.manifestId)).to.include(`${hour}-cli`);
    expect(json.queues.dlq.visible).to.equal(1);

    const detail = await run(['status', '--manifest', `${hour}-cli`], env);
    expect(detail.stdout).to.match(/SKU-9\s+0\s+-\s+image_link: could not download/);
  });
});
