import { expect } from 'chai';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import type { GraphErrorKind } from '../../src/meta/types.ts';
import { AbortedError } from '../../src/shared/backoff.ts';
import {
  asHalted,
  decideError,
  isRetryableAwsError,
  reasonOf,
  type ErrorDecision,
} from '../../src/worker/error-policy.ts';
import { FlushRefusedError, SubmissionHaltedError } from '../../src/worker/errors.ts';
import { FileTooLargeError } from '../../src/worker/file-intake.ts';

function graph(kind: GraphErrorKind, retryAfterMs: number | null = null): GraphApiError {
  return new GraphApiError({ kind, message: `a ${kind} error`, code: 1, retryAfterMs });
}

/** An AWS SDK v3 service error as the SDK builds it. */
function awsError(name: string, status: number, retryable = false): Error {
  return Object.assign(new Error(name), {
    name,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: {} } : {}),
  });
}

describe('error policy (unit)', () => {
  // Every GraphErrorKind, so a new kind added to the union fails here until it has a decision.
  const graphTable: Record<GraphErrorKind, ErrorDecision['kind']> = {
    auth: 'halt',
    permission: 'halt',
    throttled: 'wait',
    'budget-exhausted': 'wait',
    transient: 'retry',
    unknown: 'retry',
    'payload-too-large': 'split',
    'invalid-parameter': 'refuse',
  };
  for (const [kind, expected] of Object.entries(graphTable) as [GraphErrorKind, ErrorDecision['kind']][]) {
    it(`a Graph ${kind} error decides ${expected}`, () => {
      expect(decideError(graph(kind)).kind).to.equal(expected);
    });
  }

  it('halt and refusal carry the Graph error; waits and Meta retries carry its advertised wait', () => {
    const auth = graph('auth');
    expect(decideError(auth)).to.deep.equal({ kind: 'halt', graph: auth });
    const bad = graph('invalid-parameter');
    expect(decideError(bad)).to.deep.equal({ kind: 'refuse', graph: bad });
    const throttled = graph('throttled', 7000);
    expect(decideError(throttled)).to.deep.equal({ kind: 'wait', graph: throttled, atLeastMs: 7000 });
    expect(decideError(graph('transient', 1500))).to.deep.equal({
      kind: 'retry',
      source: 'meta',
      atLeastMs: 1500,
    });
  });

  it('the worker’s own wrappers decide as the Graph error inside them', () => {
    const auth = graph('auth');
    expect(decideError(new SubmissionHaltedError(auth))).to.deep.equal({ kind: 'halt', graph: auth });
    const bad = graph('invalid-parameter');
    expect(decideError(new FlushRefusedError(bad))).to.deep.equal({ kind: 'refuse', graph: bad });
  });

  it('an abort, or any error once the work’s signal aborted, decides aborted', () => {
    expect(decideError(new AbortedError('x'))).to.deep.equal({ kind: 'aborted' });
    expect(decideError(graph('auth'), { aborted: true })).to.deep.equal({ kind: 'aborted' });
    expect(decideError(new Error('boom'), { aborted: true })).to.deep.equal({ kind: 'aborted' });
  });

  it('a file too large to hold is retried (redelivered), never refused', () => {
    expect(decideError(new FileTooLargeError('big'))).to.deep.equal({
      kind: 'retry',
      source: 'file-too-large',
      atLeastMs: null,
    });
  });

  it('retryable S3/SQS/DynamoDB errors are retried as aws; other errors as unknown', () => {
    const cases: [unknown, string][] = [
      [awsError('SlowDown', 503), 'aws'],
      [awsError('InternalError', 500), 'aws'],
      [awsError('ThrottlingException', 400), 'aws'],
      [awsError('Whatever', 400, true), 'aws'],
      [awsError('AccessDenied', 403), 'unknown'],
      [awsError('NoSuchBucket', 404), 'unknown'],
      [new TypeError('bug'), 'unknown'],
      ['a string', 'unknown'],
      [null, 'unknown'],
    ];
    for (const [err, source] of cases) {
      expect(decideError(err), String(err)).to.deep.equal({ kind: 'retry', source, atLeastMs: null });
    }
    expect(isRetryableAwsError(new Error('no $metadata'))).to.equal(false);
  });

  it('asHalted keeps an existing halt and wraps a Graph error otherwise', () => {
    const auth = graph('auth');
    const halted = new SubmissionHaltedError(auth);
    expect(asHalted(halted, auth)).to.equal(halted);
    expect(asHalted(auth, auth)).to.be.instanceOf(SubmissionHaltedError).and.have.property('graph', auth);
  });

  it('reasonOf names the error without its stack', () => {
    expect(reasonOf(new TypeError('bad'))).to.equal('TypeError: bad');
    expect(reasonOf(42)).to.equal('42');
  });
});
