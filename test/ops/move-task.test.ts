import {
  CancelMessageMoveTaskCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
} from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { isMoveTaskUnsupported } from '../../src/ops/errors.ts';
import type { MoveClaims } from '../../src/ops/move-claims.ts';
import { runRedrive, type RedriveProgress } from '../../src/ops/redrive.ts';
import { exitCodeOf, renderOutcome } from '../../src/ops/redrive-render.ts';
import { awsError, fakeSqs } from './fake-sqs.ts';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/events-dlq';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/events';
const arnOf = (url: string) => `arn:aws:sqs:eu-west-1:111122223333:${url.split('/').pop()}`;

const noClaims: MoveClaims = {
  claim: async () => ({ kind: 'claimed' }),
  markSent: async () => undefined,
};

/** A service with move tasks whose ListMessageMoveTasks answers come from a script, one per call. */
function serviceWithTasks(script: ListMessageMoveTasksResultEntry[][]) {
  let listCalls = 0;
  return fakeSqs([
    [GetQueueAttributesCommand, (input) => ({ Attributes: { QueueArn: arnOf(input.QueueUrl as string) } })],
    [ListMessageMoveTasksCommand, () => ({ Results: script[Math.min(listCalls++, script.length - 1)] })],
    [StartMessageMoveTaskCommand, () => ({ TaskHandle: 'task-1' })],
    [CancelMessageMoveTaskCommand, () => ({ ApproximateNumberOfMessagesMoved: 7 })],
    [ReceiveMessageCommand, () => ({ Messages: [] })],
  ]);
}

const running = (moved: number): ListMessageMoveTasksResultEntry => ({
  TaskHandle: 'task-1',
  Status: 'RUNNING',
  SourceArn: arnOf(DLQ_URL),
  ApproximateNumberOfMessagesMoved: moved,
  ApproximateNumberOfMessagesToMove: 30,
  StartedTimestamp: Date.parse('2026-11-25T18:00:00Z'),
});

describe('redrive with SQS message-move tasks (stubbed client)', () => {
  const deps = (client: ReturnType<typeof fakeSqs>['client'], progress: RedriveProgress[] = []) => ({
    sqs: client,
    claims: noClaims,
    sleep: async () => undefined,
    onProgress: (p: RedriveProgress) => progress.push(p),
  });

  it('an unfiltered redrive starts a task from the DLQ to the queue and reports progress until COMPLETED', async () => {
    const sqs = serviceWithTasks([
      [], // probe: no task yet
      [running(0)],
      [running(12)],
      [running(12)],
      [
        {
          Status: 'COMPLETED',
          SourceArn: arnOf(DLQ_URL),
          ApproximateNumberOfMessagesMoved: 30,
          ApproximateNumberOfMessagesToMove: 30,
        },
      ],
    ]);
    const progress: RedriveProgress[] = [];
    const outcome = await runRedrive(deps(sqs.client, progress), {
      mode: 'move',
      dlqUrl: DLQ_URL,
      queueUrl: QUEUE_URL,
    });

    expect(sqs.callsOf(StartMessageMoveTaskCommand)).to.deep.equal([
      { SourceArn: arnOf(DLQ_URL), DestinationArn: arnOf(QUEUE_URL) },
    ]);
    expect(outcome.kind).to.equal('move-task');
    if (outcome.kind !== 'move-task') return;
    expect(outcome.task).to.deep.include({
      status: 'COMPLETED',
      moved: 30,
      toMove: 30,
      taskHandle: 'task-1',
    });
    expect(outcome.followedExisting).to.equal(false);
    // One progress line per change, not per poll.
    const seen = progress.flatMap((p) => (p.kind === 'task' ? [`${p.task.status} ${p.task.moved}`] : []));
    expect(seen).to.deep.equal(['RUNNING 0', 'RUNNING 12', 'COMPLETED 30']);
    expect(renderOutcome(outcome, QUEUE_URL)).to.include('message-move task COMPLETED: 30 of 30 moved');
    expect(exitCodeOf(outcome)).to.equal(0);
    expect(sqs.callsOf(ReceiveMessageCommand)).to.have.length(0);
  });

  it('follows a task that is already running instead of starting a second one', async () => {
    const sqs = serviceWithTasks([
      [running(5)],
      [running(5)],
      [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 30 }],
    ]);
    const outcome = await runRedrive(deps(sqs.client), {
      mode: 'move',
      dlqUrl: DLQ_URL,
      queueUrl: QUEUE_URL,
    });
    expect(sqs.callsOf(StartMessageMoveTaskCommand)).to.have.length(0);
    expect(outcome).to.deep.include({ kind: 'move-task', followedExisting: true });
  });

  it('a FAILED task is reported with its reason and exit status 1', async () => {
    const sqs = serviceWithTasks([
      [],
      [
        {
          Status: 'FAILED',
          FailureReason: 'AccessDenied on kms:Decrypt',
          ApproximateNumberOfMessagesMoved: 3,
        },
      ],
    ]);
    const outcome = await runRedrive(deps(sqs.client), {
      mode: 'move',
      dlqUrl: DLQ_URL,
      queueUrl: QUEUE_URL,
    });
    expect(renderOutcome(outcome, QUEUE_URL)).to.include('FAILED: 3 moved: AccessDenied on kms:Decrypt');
    expect(exitCodeOf(outcome)).to.equal(1);
  });

  it('--match and --max never start a task (it cannot filter); --dry-run and --list start nothing', async () => {
    for (const request of [
      { mode: 'move' as const, match: 'landing/**' },
      { mode: 'move' as const, max: 5 },
      { mode: 'dry-run' as const },
      { mode: 'list' as const },
    ]) {
      const sqs = serviceWithTasks([[]]);
      const outcome = await runRedrive(deps(sqs.client), {
        dlqUrl: DLQ_URL,
        queueUrl: QUEUE_URL,
        ...request,
      });
      expect(sqs.callsOf(StartMessageMoveTaskCommand), JSON.stringify(request)).to.have.length(0);
      if (outcome.kind === 'dry-run') expect(outcome.strategy).to.equal('move-task');
      if (outcome.kind === 'loop') expect(outcome.why).to.match(/cannot filter|moves everything/);
    }
  });

  it('--cancel cancels the running task by its handle', async () => {
    const sqs = serviceWithTasks([[running(7)], [running(7)]]);
    const outcome = await runRedrive(deps(sqs.client), { mode: 'cancel', dlqUrl: DLQ_URL, queueUrl: '' });
    expect(sqs.callsOf(CancelMessageMoveTaskCommand)).to.deep.equal([{ TaskHandle: 'task-1' }]);
    expect(renderOutcome(outcome, '')).to.include('7 moved so far');
  });

  it('tells a missing API (fall back to the loop) from a real failure (stop and say so)', () => {
    const mismatch = Object.assign(new SyntaxError("Unexpected token '<'\n  Deserialization error: ..."), {
      $metadata: { httpStatusCode: 500 },
    });
    expect(isMoveTaskUnsupported(mismatch)).to.equal(true);
    expect(isMoveTaskUnsupported(awsError('UnsupportedOperation'))).to.equal(true);
    expect(isMoveTaskUnsupported(awsError('AccessDeniedException', 'not authorized', 403))).to.equal(false);
    expect(isMoveTaskUnsupported(awsError('RequestThrottled', 'slow down', 400))).to.equal(false);
    expect(isMoveTaskUnsupported(awsError('InternalError', 'oops', 500))).to.equal(false);
  });

  it('does not fall back when listing tasks fails for a real reason', async () => {
    const sqs = fakeSqs([
      [GetQueueAttributesCommand, (input) => ({ Attributes: { QueueArn: arnOf(input.QueueUrl as string) } })],
      [
        ListMessageMoveTasksCommand,
        () =>
          Promise.reject(awsError('AccessDeniedException', 'not authorized to ListMessageMoveTasks', 403)),
      ],
    ]);
    await runRedrive(deps(sqs.client), { mode: 'move', dlqUrl: DLQ_URL, queueUrl: QUEUE_URL }).then(
      () => expect.fail('should throw'),
      (err: Error) => expect(err.message).to.match(/could not list message-move tasks .*not authorized/),
    );
  });
});
