import {
  CancelMessageMoveTaskCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { awsErrorCode, awsErrorMessage, isMoveTaskUnsupported, OpsError } from './errors.ts';
import { queueError } from './dlq-scan.ts';

/**
 * SQS's own DLQ redrive (StartMessageMoveTask): the service moves every message itself, fast and
 * without a client in the loop. One task per queue at a time; it cannot filter or stop after N messages.
 * Emulators without it (moto) are detected so the caller can fall back to the receive/send/delete loop.
 */

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface MoveTask {
  taskHandle: string | null;
  status: MoveTaskStatus;
  moved: number;
  toMove: number | null;
  failureReason: string | null;
  startedAt: string | null;
  destinationArn: string | null;
}

export type MoveTaskSupport =
  { supported: true; latest: MoveTask | null } | { supported: false; why: string };

const FINAL: ReadonlySet<string> = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

export function isFinal(task: MoveTask): boolean {
  return FINAL.has(task.status);
}

function toTask(e: ListMessageMoveTasksResultEntry): MoveTask {
  return {
    taskHandle: e.TaskHandle ?? null,
    status: (e.Status ?? 'RUNNING') as MoveTaskStatus,
    moved: e.ApproximateNumberOfMessagesMoved ?? 0,
    toMove: e.ApproximateNumberOfMessagesToMove ?? null,
    failureReason: e.FailureReason ?? null,
    startedAt: e.StartedTimestamp ? new Date(e.StartedTimestamp).toISOString() : null,
    destinationArn: e.DestinationArn ?? null,
  };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (!arn) throw new OpsError(`queue ${queueUrl} did not report its ARN`, { queueUrl });
    return arn;
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw queueError(err, queueUrl, 'read the attributes of');
  }
}

async function listTasks(sqs: SQSClient, dlqArn: string): Promise<MoveTask[]> {
  const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
  return (out.Results ?? []).map(toTask);
}

/** Read-only: whether the service has move tasks, and the most recent one on this DLQ. */
export async function probeMoveTasks(sqs: SQSClient, dlqArn: string): Promise<MoveTaskSupport> {
  try {
    const tasks = await listTasks(sqs, dlqArn);
    return { supported: true, latest: tasks[0] ?? null };
  } catch (err) {
    if (isMoveTaskUnsupported(err)) return { supported: false, why: unsupportedWhy(err) };
    throw new OpsError(
      `could not list message-move tasks of ${dlqArn}: ${awsErrorMessage(err)}`,
      { dlqArn },
      { cause: err },
    );
  }
}

function unsupportedWhy(err: unknown): string {
  const code = awsErrorCode(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (code === 'SyntaxError' || /Deserialization error/i.test(awsErrorMessage(err)))
    return `ListMessageMoveTasks got HTTP ${status ?? '?'} with a body that is not an SQS answer`;
  return `ListMessageMoveTasks failed with ${code || `HTTP ${status ?? '?'}`}`;
}

export async function startMoveTask(sqs: SQSClient, dlqArn: string, destinationArn: string): Promise<string> {
  try {
    const out = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: destinationArn }),
    );
    if (!out.TaskHandle) throw new OpsError('StartMessageMoveTask returned no task handle', { dlqArn });
    return out.TaskHandle;
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError(
      `could not start a message-move task from ${dlqArn}: ${awsErrorMessage(err)} ` +
        '(one task per queue may run at a time; `catalog-sync redrive --cancel` stops a running one)',
      { dlqArn, destinationArn },
      { cause: err },
    );
  }
}

export interface FollowOptions {
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  onProgress?: (task: MoveTask) => void;
  signal?: AbortSignal;
}

/**
 * Polls until the task is final, reporting each change. Stopping early (the signal) only stops watching:
 * the task runs on in SQS.
 */
export async function followMoveTask(
  sqs: SQSClient,
  dlqArn: string,
  taskHandle: string,
  options: FollowOptions,
): Promise<MoveTask> {
  let last = '';
  for (;;) {
    const tasks = await listTasks(sqs, dlqArn);
    // Only a RUNNING task carries its handle; once final, ours is the most recent one.
    const task = tasks.find((t) => t.taskHandle === taskHandle) ?? tasks[0];
    if (!task)
      throw new OpsError(`message-move task ${taskHandle} is not listed on ${dlqArn}`, {
        dlqArn,
        taskHandle,
      });
    const seen = `${task.status}/${task.moved}/${task.toMove}`;
    if (seen !== last) options.onProgress?.(task);
    last = seen;
    if (isFinal(task) || options.signal?.aborted) return { ...task, taskHandle };
    await options.sleep(options.pollMs);
  }
}

/** Cancels the running task on this DLQ; null when none runs. Messages already moved stay moved. */
export async function cancelMoveTask(sqs: SQSClient, dlqArn: string): Promise<MoveTask | null> {
  const running = (await listTasks(sqs, dlqArn)).find((t) => t.status === 'RUNNING' && t.taskHandle);
  if (!running) return null;
  const out = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: running.taskHandle! }));
  return { ...running, status: 'CANCELLING', moved: out.ApproximateNumberOfMessagesMoved ?? running.moved };
}
