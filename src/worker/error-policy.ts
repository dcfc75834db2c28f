import { GraphApiError } from '../meta/graph-error.ts';
import { AbortedError } from '../shared/backoff.ts';
import { FlushRefusedError, SubmissionHaltedError } from './errors.ts';
import { FileTooLargeError } from './file-intake.ts';

/**
 * The worker's one error policy: what any error it meets means for the work in hand. Pure, so the whole
 * table is unit-tested (test/worker/error-policy.unit.test.ts); each caller acts on the decision with the
 * means it has (a flush parks, dead-letters or backs off; a poll polls again; a handler lets SQS redeliver).
 *
 * - halt:    Meta refused the credentials (auth, permission): stop every submission, keep all work, probe.
 * - wait:    throttled by Meta or by our own hourly budget: the same call later, no sooner than `atLeastMs`.
 * - retry:   worth trying again with backoff. `source` says whose error it was, because a step retries
 *            locally only what it owns (a Meta call retries Meta's transients; an S3 write failing in the
 *            middle of a flush fails the flush, whose own bounded attempts apply):
 *              meta           transient, 5xx, network, or an unclassified Graph error
 *              aws            an S3/SQS/DynamoDB error the SDK marks retryable (throttling, 5xx, timeouts)
 *              file-too-large more distinct products than this worker may hold: redelivered, dead-lettered
 *                             with the reason on its last receive
 *              unknown        anything else; bounded by the caller's attempts and the queue's receive count
 * - split:   the items_batch body was too large: send fewer items per call.
 * - refuse:  Meta refused the request itself (invalid parameter): the same request can never succeed, so
 *            its messages are dead-lettered with the reason.
 * - aborted: the work was interrupted on purpose (shutdown, halt, lost lease): nothing is wrong with it.
 */
export type ErrorDecision =
  | { kind: 'halt'; graph: GraphApiError }
  | { kind: 'wait'; graph: GraphApiError; atLeastMs: number | null }
  | { kind: 'retry'; source: RetrySource; atLeastMs: number | null }
  | { kind: 'split'; graph: GraphApiError }
  | { kind: 'refuse'; graph: GraphApiError }
  | { kind: 'aborted' };

export type RetrySource = 'meta' | 'aws' | 'file-too-large' | 'unknown';

export interface ErrorContext {
  /** The signal of the work was aborted: whatever the error says, the work was interrupted. */
  aborted?: boolean;
}

export function decideError(err: unknown, context: ErrorContext = {}): ErrorDecision {
  if (context.aborted || err instanceof AbortedError) return { kind: 'aborted' };
  if (err instanceof SubmissionHaltedError) return { kind: 'halt', graph: err.graph };
  if (err instanceof FlushRefusedError) return { kind: 'refuse', graph: err.graph };
  if (err instanceof GraphApiError) return decideGraph(err);
  if (err instanceof FileTooLargeError) return { kind: 'retry', source: 'file-too-large', atLeastMs: null };
  if (isRetryableAwsError(err)) return { kind: 'retry', source: 'aws', atLeastMs: null };
  return { kind: 'retry', source: 'unknown', atLeastMs: null };
}

function decideGraph(graph: GraphApiError): ErrorDecision {
  switch (graph.kind) {
    case 'auth':
    case 'permission':
      return { kind: 'halt', graph };
    case 'throttled':
    case 'budget-exhausted':
      return { kind: 'wait', graph, atLeastMs: graph.retryAfterMs };
    case 'payload-too-large':
      return { kind: 'split', graph };
    case 'invalid-parameter':
      return { kind: 'refuse', graph };
    case 'transient':
    case 'unknown':
      return { kind: 'retry', source: 'meta', atLeastMs: graph.retryAfterMs };
  }
}

/** The AWS SDK v3 marks retryable service errors with `$retryable`; 5xx and throttling names count too. */
const AWS_RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalError',
  'InternalServerError',
  'TimeoutError',
]);

export function isRetryableAwsError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return false;
  const e = err as { name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (e.$retryable) return true;
  if (typeof e.name === 'string' && AWS_RETRYABLE_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/** The error that stops submissions: the one given when it is one already, else one wrapping `graph`. */
export function asHalted(err: unknown, graph: GraphApiError): SubmissionHaltedError {
  return err instanceof SubmissionHaltedError ? err : new SubmissionHaltedError(graph);
}

/** The reason a message carries to the DLQ: the error's name and message, never its stack. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
