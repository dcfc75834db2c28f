import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { entryMatches, redriveAttributes, type DlqEntry } from './dlq-message.ts';
import type { MoveClaims } from './move-claims.ts';
import { DlqScan, queueError, type ReleaseFailure, type Received } from './dlq-scan.ts';
import { awsErrorCode, awsErrorMessage, isReceiptHandleGone } from './errors.ts';

/**
 * Moves dead-lettered messages back with receive → send → delete, for services without a message-move
 * task and for filtered redrives.
 *
 * Never loses a message: the copy is sent to the source queue first and the original deleted only after
 * the send succeeded. Does not duplicate one when two operators run at once: a message can be received
 * by two readers only if its visibility lapses mid-move (or, rarely, when a standard queue delivers it
 * twice), so right before sending, the lease is renewed with the receipt handle (a handle that no longer
 * works means another reader has the message) and the message is claimed in S3 with a conditional
 * create (move-claims.ts), which only one operator can win. Send and delete then run well inside the
 * renewed lease. What cannot be ruled out is a delete failing after a send succeeded; that is reported.
 */

export interface LoopOptions {
  sqs: SQSClient;
  dlqUrl: string;
  queueUrl: string;
  claims: MoveClaims;
  isMatch?: (key: string) => boolean;
  /** Move at most this many; undefined moves every matching message. */
  max?: number;
  /** Seconds a message is held for its own move (renewed right before its send). */
  leaseSeconds?: number;
  /** Seconds a message the loop passes over stays hidden while the scan goes on. */
  holdSeconds?: number;
  waitSeconds?: number;
  signal?: AbortSignal;
  onEvent?: (event: LoopEvent) => void;
}

export type LoopProblem =
  /** Another reader received it, or its visibility lapsed before the move: left where it is. */
  | { kind: 'lease-lost'; entry: DlqEntry }
  /** Another operator has claimed it and is moving it: left to them. */
  | { kind: 'held-elsewhere'; entry: DlqEntry; owner: string }
  /** Another operator already sent it; this was a second delivery of the DLQ copy, now deleted. */
  | { kind: 'already-moved'; entry: DlqEntry; owner: string }
  /** Not sent: still in the DLQ, unchanged. */
  | { kind: 'not-moved'; entry: DlqEntry; error: string }
  /** Sent to the source queue, but still in the DLQ too. */
  | { kind: 'not-deleted'; entry: DlqEntry; error: string };

export type LoopEvent = { kind: 'moved'; entry: DlqEntry } | { kind: 'problem'; problem: LoopProblem };

export type LoopStop = 'drained' | 'cycled' | 'max' | 'aborted';

export interface LoopResult {
  moved: DlqEntry[];
  notMatched: number;
  stoppedBecause: LoopStop;
  problems: LoopProblem[];
  releaseFailures: ReleaseFailure[];
}

interface Ctx {
  options: LoopOptions;
  scan: DlqScan;
  moved: DlqEntry[];
  problems: LoopProblem[];
}

export async function redriveLoop(options: LoopOptions): Promise<LoopResult> {
  const scan = new DlqScan({
    sqs: options.sqs,
    queueUrl: options.dlqUrl,
    holdSeconds: options.holdSeconds ?? 120,
    waitSeconds: options.waitSeconds ?? 1,
  });
  const ctx: Ctx = { options, scan, moved: [], problems: [] };
  const max = options.max ?? Number.POSITIVE_INFINITY;
  let notMatched = 0;
  let stoppedBecause: LoopStop;
  let releaseFailures: ReleaseFailure[];
  try {
    for (;;) {
      const remaining = max - ctx.moved.length;
      if (remaining <= 0) {
        stoppedBecause = 'max';
        break;
      }
      if (options.signal?.aborted) {
        stoppedBecause = 'aborted';
        break;
      }
      // Unfiltered, every message received is moved: never hide more than the --max still to go.
      const { fresh, end } = await scan.receive(options.isMatch ? 10 : Math.min(10, remaining));
      if (end) {
        stoppedBecause = end === 'empty' ? 'drained' : 'cycled';
        break;
      }
      const wanted = fresh.filter((r) => entryMatches(r.entry, options.isMatch));
      notMatched += fresh.length - wanted.length;
      // Passed-over and surplus messages stay held by the scan and are released when it ends.
      await moveBatch(ctx, wanted.slice(0, remaining));
    }
  } finally {
    releaseFailures = (await scan.releaseAll()).failed;
  }
  return { moved: ctx.moved, notMatched, stoppedBecause, problems: ctx.problems, releaseFailures };
}

function problem(ctx: Ctx, p: LoopProblem): void {
  ctx.problems.push(p);
  ctx.options.onEvent?.({ kind: 'problem', problem: p });
}

async function moveBatch(ctx: Ctx, batch: Received[]): Promise<void> {
  if (batch.length === 0) return;
  const leased = await renewLease(ctx, batch);
  const claimed = await claimAll(ctx, leased);
  const sent = await sendCopies(ctx, claimed);
  // The mark only spares a later second delivery a resend; the claim's expiry covers a failed mark.
  await Promise.all(sent.map((r) => ctx.options.claims.markSent(r.entry.messageId).catch(() => undefined)));
  await deleteOriginals(ctx, sent);
}

async function claimAll(ctx: Ctx, batch: Received[]): Promise<Received[]> {
  const results = await Promise.all(batch.map((r) => ctx.options.claims.claim(r.entry.messageId)));
  const claimed: Received[] = [];
  const leftovers: Received[] = [];
  for (const [i, r] of batch.entries()) {
    const result = results[i]!;
    if (result.kind === 'claimed') claimed.push(r);
    else if (result.kind === 'held') {
      // Theirs to finish: releasing it would only expose it to a third reader.
      ctx.scan.forget(r.entry.messageId);
      problem(ctx, { kind: 'held-elsewhere', entry: r.entry, owner: result.owner });
    } else {
      leftovers.push(r);
      problem(ctx, { kind: 'already-moved', entry: r.entry, owner: result.owner });
    }
  }
  await deleteLeftovers(ctx, leftovers);
  return claimed;
}

/** Copies of messages already sent: delete them; if that fails the owner's delete covers it. */
async function deleteLeftovers(ctx: Ctx, batch: Received[]): Promise<void> {
  const { sqs, dlqUrl } = ctx.options;
  for (const r of batch) {
    ctx.scan.forget(r.entry.messageId);
    await sqs
      .send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: r.receiptHandle }))
      .catch(() => undefined);
  }
}

/** Proves the handle still holds each message and gives the move a full lease. */
async function renewLease(ctx: Ctx, batch: Received[]): Promise<Received[]> {
  const { sqs, dlqUrl, leaseSeconds = 60 } = ctx.options;
  let out;
  try {
    out = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((r, i) => ({
          Id: String(i),
          ReceiptHandle: r.receiptHandle,
          VisibilityTimeout: leaseSeconds,
        })),
      }),
    );
  } catch (err) {
    throw queueError(err, dlqUrl, 'extend the visibility of messages in');
  }
  const ok = new Set(out.Successful?.map((s) => s.Id));
  for (const f of out.Failed ?? []) {
    const r = batch[Number(f.Id)]!;
    if (isReceiptHandleGone(f)) {
      // Another reader has it, or it is visible again and a later receive of ours may take it.
      ctx.scan.unsee(r.entry.messageId);
      problem(ctx, { kind: 'lease-lost', entry: r.entry });
    } else {
      problem(ctx, {
        kind: 'not-moved',
        entry: r.entry,
        error: `could not hold it for the move: ${f.Code}: ${f.Message ?? ''}`,
      });
    }
  }
  return batch.filter((_, i) => ok.has(String(i)));
}

async function sendCopies(ctx: Ctx, batch: Received[]): Promise<Received[]> {
  if (batch.length === 0) return [];
  const { sqs, queueUrl } = ctx.options;
  const entry = (r: Received, i: number) => ({
    Id: String(i),
    MessageBody: r.message.Body ?? '',
    MessageAttributes: redriveAttributes(r.message.MessageAttributes),
  });
  try {
    const out = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map(entry) }),
    );
    for (const f of out.Failed ?? [])
      problem(ctx, {
        kind: 'not-moved',
        entry: batch[Number(f.Id)]!.entry,
        error: `send failed: ${f.Code}: ${f.Message ?? ''}`,
      });
    const ok = new Set(out.Successful?.map((s) => s.Id));
    return batch.filter((_, i) => ok.has(String(i)));
  } catch (err) {
    // Ten large messages can exceed the batch size limit that one of them fits: send them one by one.
    if (awsErrorCode(err).endsWith('BatchRequestTooLong')) return sendOneByOne(ctx, batch);
    throw queueError(err, queueUrl, 'send to');
  }
}

async function sendOneByOne(ctx: Ctx, batch: Received[]): Promise<Received[]> {
  const { sqs, queueUrl } = ctx.options;
  const sent: Received[] = [];
  for (const r of batch) {
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: r.message.Body ?? '',
          MessageAttributes: redriveAttributes(r.message.MessageAttributes),
        }),
      );
      sent.push(r);
    } catch (err) {
      problem(ctx, { kind: 'not-moved', entry: r.entry, error: `send failed: ${awsErrorMessage(err)}` });
    }
  }
  return sent;
}

async function deleteOriginals(ctx: Ctx, batch: Received[]): Promise<void> {
  if (batch.length === 0) return;
  const { sqs, dlqUrl } = ctx.options;
  let failedIds: { id: string; error: unknown }[];
  try {
    const out = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
    failedIds = (out.Failed ?? []).map((f) => ({ id: f.Id ?? '', error: f }));
  } catch (err) {
    failedIds = batch.map((_, i) => ({ id: String(i), error: err }));
  }
  const failed = new Map(failedIds.map((f) => [f.id, f.error]));
  for (const [i, r] of batch.entries()) {
    let error = failed.get(String(i));
    // A throttled or transient batch failure gets one more try; an expired handle would fail again.
    if (error !== undefined && !isReceiptHandleGone(error)) {
      error = await sqs
        .send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: r.receiptHandle }))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
    }
    ctx.scan.forget(r.entry.messageId);
    if (error === undefined) {
      ctx.moved.push(r.entry);
      ctx.options.onEvent?.({ kind: 'moved', entry: r.entry });
    } else {
      const why = isReceiptHandleGone(error)
        ? 'its receipt handle expired before the delete'
        : awsErrorMessage(error);
      problem(ctx, {
        kind: 'not-deleted',
        entry: r.entry,
        error: `sent to the queue but not deleted from the DLQ: ${why}`,
      });
    }
  }
}
