import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.ts';
import { HeldMessages } from '../../src/worker/held-messages.ts';

interface Call {
  command: string;
  entries: { ReceiptHandle?: string; VisibilityTimeout?: number }[];
}

function fakeSqs(): { sqs: SQSClient; calls: Call[] } {
  const calls: Call[] = [];
  const sqs = {
    send: async (command: { constructor: { name: string }; input: { Entries?: Call['entries'] } }) => {
      calls.push({ command: command.constructor.name, entries: command.input.Entries ?? [] });
      return {};
    },
  };
  return { sqs: sqs as unknown as SQSClient, calls };
}

const msg = (id: string, sentAt = 1000): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Attributes: { SentTimestamp: String(sentAt) },
});

function held(options: { maxHeld?: number; now?: () => number; onFull?: () => void } = {}) {
  const { sqs, calls } = fakeSqs();
  const registry = new HeldMessages({
    sqs,
    queueUrl: 'q',
    visibilityTimeoutS: 10,
    maxHeld: options.maxHeld ?? 100,
    logger: createLogger({ level: 'error', stream: new PassThrough() }),
    now: options.now ?? (() => 0),
    ...(options.onFull ? { onFull: options.onFull } : {}),
  });
  return { registry, calls };
}

describe('held messages (unit)', () => {
  it('extends only the messages past half their visibility, to the full timeout', async () => {
    let now = 0;
    const { registry, calls } = held({ now: () => now });
    registry.hold(msg('a'), ['t'], 0);
    registry.hold(msg('b'), ['t'], 4000);
    now = 5000;
    await registry.extendDue();
    expect(calls).to.deep.equal([
      {
        command: 'ChangeMessageVisibilityBatchCommand',
        entries: [{ Id: '0', ReceiptHandle: 'rh-a', VisibilityTimeout: 10 }],
      },
    ]);
    calls.length = 0;
    await registry.extendDue();
    expect(calls, 'extended a moment ago: not due again').to.deep.equal([]);
  });

  it('deletes a message once every task it waits for completed', async () => {
    const { registry, calls } = held();
    registry.hold(msg('a'), ['w1', 'w2'], 0);
    await registry.complete('w1');
    expect(calls).to.deep.equal([]);
    expect(registry.size).to.equal(1);
    await registry.complete('w2');
    expect(calls.map((c) => c.command)).to.deep.equal(['DeleteMessageBatchCommand']);
    expect(registry.size).to.equal(0);
  });

  it('releases the messages of one task (or all) at once, with visibility 0', async () => {
    const { registry, calls } = held();
    registry.hold(msg('a'), ['w1'], 0);
    registry.hold(msg('b'), ['w2'], 0);
    expect(await registry.release('w1')).to.equal(1);
    expect(calls[0]!.entries).to.deep.equal([{ Id: '0', ReceiptHandle: 'rh-a', VisibilityTimeout: 0 }]);
    expect(await registry.release()).to.equal(1);
    expect(registry.size).to.equal(0);
  });

  it('a message received again keeps one entry with the newest receipt handle', () => {
    const { registry } = held();
    registry.hold(msg('a'), ['w1'], 0);
    registry.hold({ ...msg('a'), ReceiptHandle: 'rh-a2' }, ['w2'], 10);
    expect(registry.size).to.equal(1);
    expect(registry.messagesOf('w1')[0]!.ReceiptHandle).to.equal('rh-a2');
    expect(registry.messagesOf('w2')).to.have.length(1);
  });

  it('is full at maxHeld: says so, and waits for room until a task completes', async () => {
    let full = 0;
    const { registry } = held({ maxHeld: 1, onFull: () => full++ });
    registry.hold(msg('a'), ['w'], 0);
    expect(full).to.equal(1);
    let room = false;
    const waiting = registry.waitForCapacity().then(() => (room = true));
    await Promise.resolve();
    expect(room).to.equal(false);
    await registry.complete('w');
    await waiting;
    expect(room).to.equal(true);
  });

  it('an aborted wait for room ends, and every wait removes its abort listener', async () => {
    const { registry } = held({ maxHeld: 1 });
    registry.hold(msg('a'), ['w'], 0);
    const ac = new AbortController();
    const waits = [registry.waitForCapacity(ac.signal), registry.waitForCapacity(ac.signal)];
    expect(getEventListeners(ac.signal, 'abort')).to.have.length(2);
    registry.forget(registry.messagesOf('w'));
    await Promise.all(waits);
    expect(getEventListeners(ac.signal, 'abort'), 'no listener left behind').to.have.length(0);

    registry.hold(msg('b'), ['w'], 0);
    const aborted = registry.waitForCapacity(ac.signal);
    ac.abort();
    await aborted;
    expect(registry.size).to.equal(1);
  });

  it('the oldest held message is dated by when SQS got it', () => {
    const { registry } = held();
    expect(registry.oldestReceivedAt()).to.equal(null);
    registry.hold(msg('a', 500), ['w'], 900);
    registry.hold({ MessageId: 'b', ReceiptHandle: 'rh-b' }, ['w'], 700);
    expect(registry.oldestReceivedAt()).to.equal(500);
  });
});
