import type { Message } from '@aws-sdk/client-sqs';
import type { InspectDeps } from '../drift/inspect.ts';
import type { RepairDeps } from '../drift/repair-deps.ts';
import type { Logger } from '../logger.ts';
import { receiveCountOf } from './dead-lettering.ts';
import { reasonOf } from './error-policy.ts';
import type { HeldMessages } from './held-messages.ts';
import { intakeObject, type IntakeObjectDeps } from './intake-object.ts';
import type { ManifestStore } from './manifest-store.ts';
import type { OpenWindows } from './open-windows.ts';
import { parseQueueMessage } from './queue-message.ts';
import type { TaskMessages } from './task-messages.ts';
import type { TaskContext } from './tasks/context.ts';
import { runDriftCheck } from './tasks/drift-check.ts';
import { runRecheck } from './tasks/recheck.ts';
import { runRelease } from './tasks/release.ts';

/**
 * One received message to its handler, by kind: test events are acknowledged, invalid ones dead-lettered
 * with their reason, re-checks, releases and drift checks become tasks (tasks/), and S3 events and
 * stragglers are read into their windows (intake-object.ts). Returns the message when it may be deleted
 * now, undefined when it is held (or released) for a task. A message on its last allowed receive whose
 * handling fails is dead-lettered with the reason; earlier ones are thrown back to SQS for redelivery.
 */

export interface RouterDeps {
  ctx: TaskContext;
  tasks: TaskMessages;
  held: HeldMessages;
  windows: OpenWindows;
  manifests: ManifestStore;
  repair: RepairDeps;
  inspect: InspectDeps;
  intake: IntakeObjectDeps;
}

export async function routeMessage(
  deps: RouterDeps,
  message: Message,
  receivedAt: number,
): Promise<Message | undefined> {
  const { tasks, ctx } = deps;
  const count = receiveCountOf(message);
  if (count > tasks.lastTry) {
    // Every earlier delivery ended without its work being recorded (the worker holding it was killed,
    // stopped or lost its lease): SQS would move the next one to the DLQ with no reason attached.
    const why =
      `received ${count} times without its work being recorded (each earlier attempt ended in a crash, ` +
      'a stop or a lost lease); dead-lettered on its last allowed receive so the reason travels with it';
    ctx.log.error('message dead-lettered on its last allowed receive', {
      messageId: message.MessageId,
      receiveCount: count,
    });
    await tasks.deadLetter(message, 'transient-exhausted', why);
    return message;
  }
  return dispatch(deps, message, receivedAt);
}

/** A handler failed: thrown back to SQS for redelivery, or dead-lettered with the reason on its last receive. */
export async function onHandlerError(
  tasks: TaskMessages,
  log: Logger,
  message: Message,
  err: unknown,
): Promise<Message> {
  const count = receiveCountOf(message);
  if (count < tasks.lastTry) throw err;
  const why = reasonOf(err);
  log.error('message failed on its last allowed receive; dead-lettered with its reason', {
    messageId: message.MessageId,
    receiveCount: count,
    error: why,
  });
  await tasks.deadLetter(message, 'transient-exhausted', why);
  return message;
}

async function dispatch(
  deps: RouterDeps,
  message: Message,
  receivedAt: number,
): Promise<Message | undefined> {
  const { tasks, held, ctx } = deps;
  const log = ctx.log.child({ messageId: message.MessageId });
  const msg = parseQueueMessage(message.Body);
  switch (msg.kind) {
    case 's3-test-event':
      log.info('s3:TestEvent acknowledged', { bucket: msg.bucket });
      return message;
    case 'invalid':
      log.warn('message cannot be processed; dead-lettered with its reason', {
        reason: msg.reason,
        kind: msg.deadLetter,
      });
      await tasks.deadLetter(message, msg.deadLetter, msg.reason);
      return message;
    case 'status-recheck': {
      const task = tasks.newTask(`recheck:${msg.manifestKey}`);
      held.hold(message, [task], receivedAt);
      void runRecheck(ctx, deps.manifests, task, msg.manifestKey);
      return undefined;
    }
    case 'release': {
      const task = tasks.newTask(`release:${msg.manifestKey}`);
      held.hold(message, [task], receivedAt);
      void runRelease(ctx, deps.repair, task, msg);
      return undefined;
    }
    case 'drift-check': {
      const task = tasks.newTask('drift-check');
      held.hold(message, [task], receivedAt);
      void runDriftCheck(ctx, { inspect: deps.inspect, repair: deps.repair }, task, msg.dryRun);
      return undefined;
    }
    case 's3-event':
    case 'straggler': {
      for (const r of msg.kind === 's3-event' ? msg.ignored : []) {
        log.info('S3 record ignored', { fileKey: r.key, reason: r.reason });
      }
      const objects = msg.kind === 's3-event' ? msg.objects : [msg.object];
      const again = msg.kind === 'straggler' || receiveCountOf(message) > 1;
      const live: string[] = [];
      for (const ref of objects) {
        const task = await intakeObject(deps.intake, ref, again, log.child({ fileKey: ref.key }));
        if (task) live.push(task);
      }
      // A window may have flushed while a later record was read; its work is recorded already.
      const waiting = [...new Set(live)].filter((t) => tasks.isLive(t));
      if (waiting.length === 0) return message;
      held.hold(message, waiting, receivedAt);
      deps.windows.schedule();
      return undefined;
    }
  }
}
