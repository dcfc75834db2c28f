import type { SQSClient } from '@aws-sdk/client-sqs';
import picomatch from 'picomatch';
import { listDlq, type DlqListing } from './dlq-listing.ts';
import { ConfigError } from '../config.ts';
import { OpsError } from './errors.ts';
import type { MoveClaims } from './move-claims.ts';
import {
  cancelMoveTask,
  followMoveTask,
  probeMoveTasks,
  queueArn,
  startMoveTask,
  type MoveTask,
  type MoveTaskSupport,
} from './move-task.ts';
import { queueDepth, type QueueDepth } from './queue-depth.ts';
import { redriveLoop, type LoopEvent, type LoopResult } from './redrive-loop.ts';

/**
 * `redrive` as one decision: list, preview, cancel, or move natively or with the loop. The command
 * parses flags and prints; this module decides and does, with the SQS client and clock passed in.
 */

export type RedriveMode = 'list' | 'dry-run' | 'move' | 'cancel';

export interface RedriveRequest {
  mode: RedriveMode;
  dlqUrl: string;
  queueUrl: string;
  match?: string;
  max?: number;
}

export interface RedriveTuning {
  leaseSeconds: number;
  holdSeconds: number;
  waitSeconds: number;
  pollMs: number;
}

export const DEFAULT_TUNING: RedriveTuning = {
  leaseSeconds: 60,
  holdSeconds: 120,
  waitSeconds: 1,
  pollMs: 2000,
};

/** Listings stop here unless --max says otherwise: every listed message is held until the listing ends. */
export const LIST_CAP = 10_000;

export type RedriveProgress =
  { kind: 'strategy'; strategy: Strategy; why: string } | { kind: 'task'; task: MoveTask } | LoopEvent;

export interface RedriveDeps {
  sqs: SQSClient;
  /** Needed by the receive/send/delete loop only (see move-claims.ts). */
  claims?: MoveClaims;
  sleep: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: (p: RedriveProgress) => void;
  tuning?: Partial<RedriveTuning>;
}

export type Strategy = 'move-task' | 'loop';

export type RedriveOutcome =
  | { kind: 'listing'; dlq: QueueDepth; match: string | null; listing: DlqListing }
  | {
      kind: 'dry-run';
      dlq: QueueDepth;
      match: string | null;
      listing: DlqListing;
      strategy: Strategy;
      why: string;
      runningTask: MoveTask | null;
    }
  | { kind: 'move-task'; task: MoveTask; followedExisting: boolean; why: string }
  | { kind: 'loop'; result: LoopResult; why: string }
  | { kind: 'cancel'; task: MoveTask | null; supported: boolean };

export function chooseStrategy(
  request: Pick<RedriveRequest, 'match' | 'max'>,
  support: MoveTaskSupport,
): { strategy: Strategy; why: string } {
  if (request.match !== undefined)
    return {
      strategy: 'loop',
      why: '--match needs the receive/send/delete loop: a message-move task cannot filter',
    };
  if (request.max !== undefined)
    return {
      strategy: 'loop',
      why: '--max needs the receive/send/delete loop: a message-move task moves everything',
    };
  if (!support.supported)
    return {
      strategy: 'loop',
      why: `the service has no message-move task (${support.why}); using the receive/send/delete loop`,
    };
  return { strategy: 'move-task', why: 'unfiltered: SQS moves the messages itself (StartMessageMoveTask)' };
}

export function compileMatch(glob: string | undefined): ((key: string) => boolean) | undefined {
  if (glob === undefined) return undefined;
  if (glob.trim() === '') throw new OpsError('--match needs a glob, e.g. --match "landing/2026-11-25/**"');
  return picomatch(glob, { dot: true });
}

export async function runRedrive(deps: RedriveDeps, request: RedriveRequest): Promise<RedriveOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const { sqs } = deps;
  if (request.dlqUrl === request.queueUrl)
    throw new OpsError(
      `the DLQ and the source queue are the same (${request.dlqUrl}): check DLQ_URL and QUEUE_URL`,
    );
  const isMatch = compileMatch(request.match);
  const match = request.match ?? null;

  if (request.mode === 'list' || request.mode === 'dry-run') {
    const dlq = await queueDepth(sqs, request.dlqUrl);
    const listing = await listDlq({
      sqs,
      dlqUrl: request.dlqUrl,
      limit: request.max ?? LIST_CAP,
      isMatch,
      holdSeconds: tuning.holdSeconds,
      waitSeconds: tuning.waitSeconds,
      signal: deps.signal,
    });
    if (request.mode === 'list') return { kind: 'listing', dlq, match, listing };
    const support = await probeMoveTasks(sqs, await queueArn(sqs, request.dlqUrl));
    const runningTask = support.supported && support.latest?.status === 'RUNNING' ? support.latest : null;
    return { kind: 'dry-run', dlq, match, listing, runningTask, ...chooseStrategy(request, support) };
  }

  const dlqArn = await queueArn(sqs, request.dlqUrl);
  const support = await probeMoveTasks(sqs, dlqArn);
  if (request.mode === 'cancel') {
    return {
      kind: 'cancel',
      supported: support.supported,
      task: support.supported ? await cancelMoveTask(sqs, dlqArn) : null,
    };
  }

  const { strategy, why } = chooseStrategy(request, support);
  deps.onProgress?.({ kind: 'strategy', strategy, why });
  if (strategy === 'move-task' && support.supported) {
    // One task per queue: a running one (another operator's) is followed, not fought.
    const running = support.latest?.status === 'RUNNING' ? support.latest : null;
    const taskHandle =
      running?.taskHandle ?? (await startMoveTask(sqs, dlqArn, await queueArn(sqs, request.queueUrl)));
    const task = await followMoveTask(sqs, dlqArn, taskHandle, {
      pollMs: tuning.pollMs,
      sleep: deps.sleep,
      signal: deps.signal,
      onProgress: (t) => deps.onProgress?.({ kind: 'task', task: t }),
    });
    return { kind: 'move-task', task, followedExisting: running !== null, why };
  }

  // The loop would race a running move task for the same messages; let that finish first.
  if (support.supported && support.latest?.status === 'RUNNING')
    throw new OpsError(
      `a message-move task is already running on ${request.dlqUrl} (started ${support.latest.startedAt ?? '?'}): ` +
        'wait for it, or stop it with `catalog-sync redrive --cancel`',
      { dlqArn },
    );
  if (!deps.claims)
    throw new ConfigError([
      'SYNCED_BUCKET is required by this redrive: the receive/send/delete loop records there who moves which ' +
        'message, so two operators never move one twice',
    ]);
  const result = await redriveLoop({
    sqs,
    claims: deps.claims,
    dlqUrl: request.dlqUrl,
    queueUrl: request.queueUrl,
    isMatch,
    max: request.max,
    leaseSeconds: tuning.leaseSeconds,
    holdSeconds: tuning.holdSeconds,
    waitSeconds: tuning.waitSeconds,
    signal: deps.signal,
    onEvent: (e) => deps.onProgress?.(e),
  });
  return { kind: 'loop', result, why };
}
