import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.ts';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import type { CatalogClient } from '../../src/meta/types.ts';
import { AbortedError } from '../../src/shared/backoff.ts';
import type { Versioned } from '../../src/shared/s3-json.ts';
import { SubmissionHaltedError } from '../../src/worker/errors.ts';
import type { Manifest } from '../../src/contract/manifest.ts';
import type { ManifestStore } from '../../src/worker/manifest-store.ts';
import { pollManifest, type PollDeps } from '../../src/worker/status-poller.ts';
import type { ProductStateStore } from '../../src/state/product-state-store.ts';

/** The poller's decisions on check_batch_request_status failures, with a fake Meta client and clock. */

const submitted = {
  value: {
    manifestId: 'm1',
    window: '2026-01-01T10',
    state: 'submitted',
    batches: [{ index: 0, status: 'running', handle: 'h1' }],
  },
} as unknown as Versioned<Manifest>;

function deps(checkBatchStatus: () => Promise<never>, maxMs = 400): { deps: PollDeps; calls: () => number } {
  let now = 0;
  let calls = 0;
  const client = {
    checkBatchStatus: async () => {
      calls++;
      return checkBatchStatus();
    },
  } as unknown as CatalogClient;
  const d: PollDeps = {
    client,
    manifests: {} as ManifestStore,
    state: {} as ProductStateStore,
    logger: createLogger({ level: 'error', stream: new PassThrough() }),
    now: () => now,
    initialMs: 100,
    maxMs,
    deadlineMs: 1000,
    unknownRetryMax: 2,
    unknownRetryBaseMs: 100,
    resend: async () => submitted,
    writeMetaReport: async () => 'report',
    writeUnknownReport: async () => 'report',
    // The fake clock moves by each wait, so the deadline comes without real time passing.
    sleep: async (ms) => {
      now += ms;
    },
  };
  return { deps: d, calls: () => calls };
}

const graph = (kind: GraphApiError['kind'], retryAfterMs: number | null = null) =>
  new GraphApiError({ kind, message: kind, endpoint: 'check_batch_request_status', retryAfterMs });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('status poller decisions (unit)', () => {
  it('refused credentials stop the poll with SubmissionHaltedError', async () => {
    for (const kind of ['auth', 'permission'] as const) {
      const { deps: d } = deps(() => Promise.reject(graph(kind)));
      const err = await rejection(pollManifest(d, 'k', submitted, new AbortController().signal));
      expect(err).to.be.instanceOf(SubmissionHaltedError);
    }
  });

  it('throttled, transient and unknown answers are polled again until the deadline', async () => {
    for (const kind of ['throttled', 'transient', 'unknown', 'invalid-parameter'] as const) {
      const { deps: d, calls } = deps(() => Promise.reject(graph(kind)));
      const outcome = await pollManifest(d, 'k', submitted, new AbortController().signal);
      expect(outcome, kind).to.equal('deadline');
      expect(calls(), kind).to.be.greaterThan(1);
    }
  });

  it('an advertised wait lengthens the next poll', async () => {
    const { deps: own, calls: ownCalls } = deps(() => Promise.reject(graph('throttled')), 10_000);
    await pollManifest(own, 'k', submitted, new AbortController().signal);
    // Its own doubling: polls at 100, 300, 700 and 1500 ms.
    expect(ownCalls()).to.equal(4);
    const { deps: d, calls } = deps(() => Promise.reject(graph('throttled', 600)), 10_000);
    await pollManifest(d, 'k', submitted, new AbortController().signal);
    // At 100 ms, then Meta's 600 ms doubled: past the 1 s deadline after two polls.
    expect(calls()).to.equal(2);
  });

  it('an error that is not Meta’s ends the poll; an aborted poll says so', async () => {
    const { deps: d } = deps(() => Promise.reject(new TypeError('bug')));
    expect(await rejection(pollManifest(d, 'k', submitted, new AbortController().signal))).to.be.instanceOf(
      TypeError,
    );
    const ac = new AbortController();
    const { deps: aborted } = deps(() => {
      ac.abort();
      return Promise.reject(graph('transient'));
    });
    expect(await rejection(pollManifest(aborted, 'k', submitted, ac.signal))).to.be.instanceOf(AbortedError);
  });

  it('a manifest that is not submitted is not polled', async () => {
    const { deps: d, calls } = deps(() => Promise.reject(graph('transient')));
    const finished = { value: { ...submitted.value, state: 'finished' } } as Versioned<Manifest>;
    expect(await pollManifest(d, 'k', finished, new AbortController().signal)).to.equal('not-submitted');
    expect(calls()).to.equal(0);
  });
});
