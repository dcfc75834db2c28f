import os from 'node:os';
import path from 'node:path';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.ts';
import type { CatalogClient } from '../../src/meta/types.ts';
import type { ManifestStore } from '../../src/worker/manifest-store.ts';
import type { WorkerEventName } from '../../src/worker/worker-events.ts';
import { Worker, type WorkerParts, type WorkerSettings } from '../../src/worker/worker.ts';

/**
 * The worker's lifecycle without AWS: an in-process fake of the SQS calls sqs-consumer and the worker
 * make, and no Meta calls at all (the messages here never reach a flush).
 */

const settings: WorkerSettings = {
  landingBucket: 'landing',
  landingPrefix: 'landing/',
  syncedPrefix: 'synced/',
  queueUrl: 'https://sqs.local/queue',
  dlqUrl: 'https://sqs.local/dlq',
  quietMs: 1000,
  maxHoldMs: 5000,
  windowMaxItems: 100,
  maxHeldMessages: 10,
  visibilityTimeoutS: 30,
  shutdownGraceMs: 500,
  maxReceiveCount: 5,
  sqsWaitTimeS: 0,
  authAlertIntervalMs: 60_000,
  authProbeIntervalMs: 60_000,
};

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** Hands out `queue` once, then empty receives; records every other call. */
function fakeSqs(queue: Message[]): { sqs: SQSClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const sqs = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      if (name === 'ReceiveMessageCommand') {
        const messages = queue.splice(0);
        if (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        return { Messages: messages };
      }
      sent.push({ command: name, input: command.input });
      return name === 'SendMessageCommand' ? { MessageId: 'dlq-1' } : {};
    },
  };
  return { sqs: sqs as unknown as SQSClient, sent };
}

function message(id: string, body: string): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: body,
    Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
  };
}

function build(queue: Message[]): { worker: Worker; sent: Sent[]; events: WorkerEventName[] } {
  const { sqs, sent } = fakeSqs(queue);
  const unused = {} as never;
  const parts: WorkerParts = {
    settings,
    sqs,
    client: {} as CatalogClient,
    logger: createLogger({ level: 'error', stream: new PassThrough() }),
    metrics: undefined,
    now: Date.now,
    manifests: { list: async () => [] } as unknown as ManifestStore,
    // Only its spool folder is used here: start() clears an earlier process's spool files from it.
    intake: { spoolDir: path.join(os.tmpdir(), `lifecycle-unit-${process.pid}`) } as never,
    flush: unused,
    poll: unused,
    repair: unused,
    inspect: unused,
  };
  const worker = new Worker(parts);
  const events: WorkerEventName[] = [];
  for (const name of ['started', 'message_received', 'halted', 'resumed', 'stopped'] as const) {
    worker.on(name, () => events.push(name));
  }
  return { worker, sent, events };
}

describe('worker lifecycle (unit)', () => {
  it('emits started, message_received and stopped in that order, and acknowledges an S3 test event', async () => {
    const body = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'landing' });
    const { worker, sent, events } = build([message('m1', body)]);
    const received = once(worker, 'message_received');
    worker.start();
    await received;
    const stopped = once(worker, 'stopped');
    await worker.stop();
    await stopped;
    expect(events).to.deep.equal(['started', 'message_received', 'stopped']);
    expect(sent.map((s) => s.command)).to.include('DeleteMessageCommand');
    expect(worker.halted).to.equal(false);
    expect(worker.heldMessages).to.equal(0);
  });

  it('dead-letters a message it cannot read, with the reason, and deletes it', async () => {
    const { worker, sent } = build([message('m2', 'not json')]);
    const received = once(worker, 'message_received');
    worker.start();
    await received;
    await worker.stop();
    const dlq = sent.find((s) => s.command === 'SendMessageCommand');
    expect(dlq?.input.QueueUrl).to.equal(settings.dlqUrl);
    expect(
      sent.some((s) => s.command === 'DeleteMessageCommand' && s.input.ReceiptHandle === 'rh-m2'),
    ).to.equal(true);
  });

  it('stop is idempotent and emits stopped once', async () => {
    const { worker, events } = build([]);
    worker.start();
    await Promise.all([worker.stop(), worker.stop()]);
    expect(events.filter((e) => e === 'stopped')).to.have.length(1);
  });
});
