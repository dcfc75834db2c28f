import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import type { MoveClaims, ClaimResult } from '../../src/ops/move-claims.ts';
import { redriveLoop } from '../../src/ops/redrive-loop.ts';
import { exitCodeOf } from '../../src/ops/redrive-render.ts';
import { fakeSqs } from './fake-sqs.ts';
import { s3EventBody } from './support.ts';

/**
 * The loop's answers to what moto cannot provoke on demand: a receipt handle that stopped working, an
 * operator that claimed the message first, a delete that fails after the send.
 */
describe('redrive loop: losing the race safely (stubbed client)', () => {
  const message = (n: number): Message => ({
    MessageId: `m${n}`,
    ReceiptHandle: `h${n}`,
    Body: s3EventBody('landing', `landing/${n}.csv`),
    Attributes: { ApproximateReceiveCount: '2' },
  });
  type Entries = { Id: string; ReceiptHandle?: string }[];

  function scenario() {
    let receives = 0;
    const sqs = fakeSqs([
      [ReceiveMessageCommand, () => ({ Messages: receives++ === 0 ? [1, 2, 3, 4, 5].map(message) : [] })],
      [
        ChangeMessageVisibilityBatchCommand,
        (input) => {
          const entries = input.Entries as Entries;
          const gone = entries.filter((e) => e.ReceiptHandle === 'h2');
          return {
            Successful: entries.filter((e) => !gone.includes(e)).map((e) => ({ Id: e.Id })),
            Failed: gone.map((e) => ({
              Id: e.Id,
              Code: 'ReceiptHandleIsInvalid',
              SenderFault: true,
              Message: 'expired',
            })),
          };
        },
      ],
      [
        SendMessageBatchCommand,
        (input) => ({ Successful: (input.Entries as Entries).map((e) => ({ Id: e.Id })) }),
      ],
      [
        DeleteMessageBatchCommand,
        (input) => {
          const entries = input.Entries as Entries;
          const expired = entries.filter((e) => e.ReceiptHandle === 'h5');
          return {
            Successful: entries.filter((e) => !expired.includes(e)).map((e) => ({ Id: e.Id })),
            Failed: expired.map((e) => ({
              Id: e.Id,
              Code: 'ReceiptHandleIsInvalid',
              SenderFault: true,
              Message: 'expired',
            })),
          };
        },
      ],
      [DeleteMessageCommand, () => ({})],
    ]);
    const claims: MoveClaims = {
      claim: async (id): Promise<ClaimResult> =>
        id === 'm3'
          ? { kind: 'held', owner: 'ops-b', until: '2026-11-25T18:05:00Z' }
          : id === 'm4'
            ? { kind: 'already-sent', owner: 'ops-b' }
            : { kind: 'claimed' },
      markSent: async () => undefined,
    };
    return { sqs, claims };
  }

  it('sends only messages it still holds and has claimed; reports a send whose delete failed', async () => {
    const { sqs, claims } = scenario();
    const result = await redriveLoop({
      sqs: sqs.client,
      claims,
      dlqUrl: 'dlq',
      queueUrl: 'q',
      waitSeconds: 0,
    });

    const sent = sqs
      .callsOf(SendMessageBatchCommand)
      .flatMap((i) => (i.Entries as { MessageBody: string }[]).map((e) => e.MessageBody));
    expect(sent).to.deep.equal([message(1).Body, message(5).Body]);
    expect(result.moved.map((e) => e.messageId)).to.deep.equal(['m1']);
    expect(result.problems.map((p) => [p.kind, p.entry.messageId])).to.deep.equal([
      ['lease-lost', 'm2'],
      ['held-elsewhere', 'm3'],
      ['already-moved', 'm4'],
      ['not-deleted', 'm5'],
    ]);
    // The leftover copy of an already-sent message is deleted with this reader's handle.
    expect(sqs.callsOf(DeleteMessageCommand)).to.deep.equal([{ QueueUrl: 'dlq', ReceiptHandle: 'h4' }]);
    // Nothing is released that another operator holds (m3) or that was sent (m1, m5).
    const released = sqs
      .callsOf(ChangeMessageVisibilityBatchCommand)
      .flatMap((i) =>
        (i.Entries as { ReceiptHandle: string; VisibilityTimeout: number }[]).filter(
          (e) => e.VisibilityTimeout === 0,
        ),
      )
      .map((e) => e.ReceiptHandle);
    expect(released).to.deep.equal([]);
    expect(exitCodeOf({ kind: 'loop', result, why: '' })).to.equal(1);
  });
});
