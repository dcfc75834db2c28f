import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { DLQ_ATTR } from '../../src/dead-letter.ts';
import { opsClients } from '../../src/commands/aws-clients.ts';
import { s3MoveClaims } from '../../src/ops/move-claims.ts';
import { compileMatch, runRedrive, type RedriveRequest, type RedriveTuning } from '../../src/ops/redrive.ts';
import { redriveLoop } from '../../src/ops/redrive-loop.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';
import {
  depth,
  drain,
  empty,
  reason,
  recheckBody,
  s3EventBody,
  sendAll,
  stragglerBody,
  tally,
} from './support.ts';
import { redriveClaimsFolder } from '../../src/contract/layout.ts';

// Moto answers instantly when a queue is empty only without long polling.
const FAST: Partial<RedriveTuning> = { waitSeconds: 0, pollMs: 1 };
const noSleep = async () => undefined;

describe('redrive against moto (receive → send → delete loop)', function () {
  let stack: TestStack;
  let sqs: SQSClient;

  before(async () => {
    stack = await deployTestStack('redrive', { MaxReceiveCount: '1' });
    sqs = stack.clients.sqs;
  });
  beforeEach(async () => empty(sqs, stack.queueUrl, stack.dlqUrl));

  const request = (r: Partial<RedriveRequest>): RedriveRequest => ({
    mode: 'move',
    dlqUrl: stack.dlqUrl,
    queueUrl: stack.queueUrl,
    ...r,
  });
  const claims = () =>
    s3MoveClaims({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      prefix: redriveClaimsFolder('synced/', stack.dlqUrl),
      dlqUrl: stack.dlqUrl,
    });
  const run = (r: Partial<RedriveRequest>) =>
    runRedrive({ sqs, claims: claims(), sleep: noSleep, tuning: FAST }, request(r));

  it('lists each kind with its key, receive count and first error, and says when the worker gave no verdict', async () => {
    const b = stack.landingBucket;
    await sendAll(sqs, stack.dlqUrl, [
      { body: s3EventBody(b, 'landing/acme/prices 1.csv'), reason: reason({ receiveCount: 5 }) },
      {
        body: stragglerBody(b, 'landing/acme/late.csv'),
        reason: reason({ kind: 'unsupported-version', error: 'version 2' }),
      },
      { body: recheckBody('synced/manifests/2026-11-25T17/m1.json') },
      {
        body: 'not json at all',
        reason: reason({ kind: 'unparseable', error: 'body is not JSON', receiveCount: 1 }),
      },
    ]);
    // One message dead-lettered by the redrive policy itself: received once, never deleted.
    await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: s3EventBody(b, 'landing/crash.csv') }),
    );
    await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
    );
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, WaitTimeSeconds: 0 })); // moves it

    const outcome = await run({ mode: 'list' });
    if (outcome.kind !== 'listing') throw new Error(outcome.kind);
    const byKind = new Map(outcome.listing.entries.map((e) => [e.keys[0] ?? e.payload.kind, e]));
    expect(outcome.listing.entries).to.have.length(5);
    expect(byKind.get('landing/acme/prices 1.csv')).to.deep.include({ receiveCount: 5 });
    expect(byKind.get('landing/acme/prices 1.csv')!.payload.kind).to.equal('s3-event');
    expect(byKind.get('landing/acme/late.csv')!.failure).to.deep.include({ kind: 'verdict' });
    expect(byKind.get('synced/manifests/2026-11-25T17/m1.json')!.payload.kind).to.equal('status-recheck');
    expect(byKind.get('unparseable')!.payload.kind).to.equal('unparseable');
    const crashed = byKind.get('landing/crash.csv')!;
    expect(crashed.failure.kind).to.equal('no-verdict');
    expect(crashed.receiveCount).to.equal(1);
    // The listing hid nothing for longer than it took.
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 5, inFlight: 0 });
  });

  it('--dry-run shows what would move and changes nothing: same messages, all visible, source queue empty', async () => {
    await sendAll(
      sqs,
      stack.dlqUrl,
      ['a', 'b', 'c'].map((k) => ({
        body: s3EventBody('b', `landing/x/${k}.csv`),
        attributes: { Origin: { DataType: 'String', StringValue: k } },
      })),
    );
    const before = await depth(sqs, stack.dlqUrl);
    const outcome = await run({ mode: 'dry-run', match: 'landing/x/{a,b}.csv' });
    if (outcome.kind !== 'dry-run') throw new Error(outcome.kind);
    expect(outcome.listing.entries.map((e) => e.keys[0]).sort()).to.deep.equal([
      'landing/x/a.csv',
      'landing/x/b.csv',
    ]);
    expect(outcome.listing.notMatched).to.equal(1);
    expect(outcome.strategy).to.equal('loop');

    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal(before);
    expect(await depth(sqs, stack.queueUrl)).to.deep.equal({ visible: 0, inFlight: 0 });
    const after = await drain(sqs, stack.dlqUrl);
    expect(after).to.have.length(3);
    for (const m of after) {
      expect(m.MessageAttributes?.[DLQ_ATTR.error]?.StringValue).to.equal('S3 GetObject timed out');
      expect(m.MessageAttributes?.Origin).to.exist;
    }
  });

  it('moves every message once, strips the verdict, keeps the body and other attributes (moto has no move task)', async () => {
    const bodies = Array.from({ length: 13 }, (_, i) => s3EventBody('b', `landing/all/${i}.csv`));
    await sendAll(
      sqs,
      stack.dlqUrl,
      bodies.map((body) => ({ body, attributes: { Origin: { DataType: 'String', StringValue: 'export' } } })),
    );
    const outcome = await run({});
    if (outcome.kind !== 'loop') throw new Error(outcome.kind);
    expect(outcome.why).to.match(/no message-move task/);
    expect(outcome.result.moved).to.have.length(13);
    expect(outcome.result.stoppedBecause).to.equal('drained');
    expect(outcome.result.problems).to.deep.equal([]);

    const arrived = await drain(sqs, stack.queueUrl);
    expect([...tally(arrived).entries()].sort()).to.deep.equal(bodies.map((b) => [b, 1]).sort());
    for (const m of arrived) {
      expect(Object.keys(m.MessageAttributes ?? {})).to.deep.equal(['Origin']);
    }
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 0, inFlight: 0 });
  });

  it('--match and --max move only that subset and leave the rest visible in the DLQ at once', async () => {
    const keep = Array.from({ length: 12 }, (_, i) => s3EventBody('b', `landing/other/${i}.csv`));
    const want = Array.from({ length: 6 }, (_, i) => s3EventBody('b', `landing/acme/${i}.csv`));
    // Interleaved, so the wanted ones sit behind more than a receive's worth of others.
    await sendAll(
      sqs,
      stack.dlqUrl,
      [...keep.slice(0, 11), ...want, keep[11]!].map((body) => ({ body })),
    );
    const outcome = await run({ match: 'landing/acme/**', max: 4 });
    if (outcome.kind !== 'loop') throw new Error(outcome.kind);
    expect(outcome.result.moved).to.have.length(4);
    expect(outcome.result.stoppedBecause).to.equal('max');
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 14, inFlight: 0 });

    const rest = await run({ match: 'landing/acme/**' });
    if (rest.kind !== 'loop') throw new Error(rest.kind);
    expect(rest.result.moved).to.have.length(2);
    const arrived = await drain(sqs, stack.queueUrl);
    expect([...tally(arrived).keys()].sort()).to.deep.equal([...want].sort());
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 12, inFlight: 0 });
  });

  it('two concurrent filtered redrives move each message exactly once and drain the DLQ', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => s3EventBody('b', `landing/race/${i}.csv`));
    await sendAll(
      sqs,
      stack.dlqUrl,
      bodies.map((body) => ({ body })),
    );
    const isMatch = compileMatch('landing/race/*.csv');
    const operator = () =>
      redriveLoop({
        // Separate clients: two operators, two connections.
        sqs: opsClients('us-east-1').sqs,
        claims: claims(),
        dlqUrl: stack.dlqUrl,
        queueUrl: stack.queueUrl,
        isMatch,
        waitSeconds: 0,
      });
    const [a, b] = await Promise.all([operator(), operator()]);
    expect(a.moved.length + b.moved.length).to.equal(40);
    expect(a.problems.filter((p) => p.kind !== 'lease-lost')).to.deep.equal([]);
    expect(b.problems.filter((p) => p.kind !== 'lease-lost')).to.deep.equal([]);

    const arrived = await drain(sqs, stack.queueUrl);
    expect(arrived).to.have.length(40);
    expect([...tally(arrived).values()].every((n) => n === 1)).to.equal(true);
    expect(await depth(sqs, stack.dlqUrl)).to.deep.equal({ visible: 0, inFlight: 0 });
  });

  it('claims in S3: one operator wins, a sent claim marks a leftover, an expired claim is taken over', async () => {
    let clock = new Date('2026-11-25T18:00:00Z');
    const make = (owner: string) =>
      s3MoveClaims({
        s3: stack.clients.s3,
        bucket: stack.syncedBucket,
        prefix: 'synced/redrive-claims/test/',
        dlqUrl: stack.dlqUrl,
        ttlMs: 60_000,
        now: () => clock,
        owner,
      });
    const a = make('ops-a');
    const b = make('ops-b');
    expect(await a.claim('msg-1')).to.deep.equal({ kind: 'claimed' });
    expect(await b.claim('msg-1')).to.deep.include({ kind: 'held', owner: 'ops-a' });
    await a.markSent('msg-1');
    expect(await b.claim('msg-1')).to.deep.equal({ kind: 'already-sent', owner: 'ops-a' });

    expect(await a.claim('msg-2')).to.deep.equal({ kind: 'claimed' });
    clock = new Date(clock.getTime() + 61_000); // ops-a died mid-move
    expect(await b.claim('msg-2')).to.deep.equal({ kind: 'claimed' });
    expect(await a.claim('msg-2')).to.deep.include({ kind: 'held', owner: 'ops-b' });
  });

  it('refuses to run the loop without somewhere to record claims, and says what to set', async () => {
    await runRedrive({ sqs, sleep: noSleep, tuning: FAST }, request({ match: '**' })).then(
      () => expect.fail('should throw'),
      (err: Error) => expect(err.message).to.match(/SYNCED_BUCKET is required by this redrive/),
    );
  });
});
