import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { checkOracle, type OracleReport, type OracleTarget } from '../../bench/chaos/oracle.ts';
import { effectiveState } from '../../bench/chaos/oracle/archive-rule.ts';
import { readManifests } from '../../bench/chaos/oracle/s3-view.ts';
import { Ledger } from '../../bench/chaos/ledger.ts';
import { until, waitStarted, WorkerPool, type WorkerProcess } from '../../bench/chaos/workers.ts';
import { FAILPOINTS } from '../../src/failpoints.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import { sandboxProcessEnv, startSandbox, type TestStack } from '../support/sandbox-harness.ts';

/**
 * The failpoint matrix: for every named failpoint (src/failpoints.ts), with one worker and with two
 * workers at once, `bin/catalog-sync worker` processes run with CATALOG_SYNC_FAILPOINTS=<point>=kill;
 * files go in that make the point reachable (overlapping products, the first batch ending in `error` after
 * applying some of its items, so the poll and retry points are on the path too); the test waits until a
 * worker dies by SIGKILL saying `failpoint <point> hit`, replaces every dead worker with one without the
 * failpoint, waits for convergence and judges the result with the chaos oracle (bench/chaos/oracle.ts) in
 * `archivable` mode (the files the DAG would archive, instead of running Airflow per case).
 *
 * A point that is never hit FAILS its case: the failpoint() call is missing or unreachable.
 *
 * FAILPOINT_MATRIX_WORKER_BIN runs another checkout's bin/catalog-sync (an older worker: every point
 * then fails as never hit); FAILPOINT_MATRIX_DUMP=1 adds the workers' last log lines to a failure.
 *
 * Each variant has its own stack (buckets, queue, DLQ), catalog id and simulator, so the two variants of
 * a point run side by side; points run one after another.
 */

const TOKEN = `fp-token-${randomBytes(12).toString('hex')}`;
const PROCESSING_MS = 300;
const HIT_DEADLINE_MS = 25_000;
const CONVERGE_DEADLINE_MS = 60_000;

interface CaseResult {
  point: string;
  workers: number;
  hit: boolean;
  passed: boolean;
  seconds: number;
  kills: number;
  restarts: number;
  report: OracleReport | null;
  error: string | null;
}

const results: CaseResult[] = [];
let caseNo = 0;

function workerEnv(stack: TestStack, sim: Simulator, catalogId: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...sandboxProcessEnv({ stack, sim }, { catalogId, accessToken: TOKEN }),
    // The product state store: s3 by default; CATALOG_SYNC_TEST_STATE_STORE=dynamodb runs the matrix on
    // the stack's DynamoDB table (its ARN, with which moto skips a whole-table copy per transaction).
    STATE_STORE: process.env.CATALOG_SYNC_TEST_STATE_STORE ?? 's3',
    STATE_TABLE: stack.outputs.StateTableArn ?? '',
    META_HOURLY_CALL_BUDGET: '10000',
    DEBOUNCE_QUIET_MS: '300',
    DEBOUNCE_MAX_HOLD_MS: '5000',
    VISIBILITY_TIMEOUT_S: '4',
    SQS_WAIT_TIME_S: '1',
    SHUTDOWN_GRACE_MS: '3000',
    STATUS_POLL_INITIAL_MS: '100',
    STATUS_POLL_MAX_MS: '300',
    STATUS_POLL_DEADLINE_MS: '30000',
    FLUSH_RETRY_MAX_MS: '500',
    META_MAX_RETRIES: '2',
    LOG_LEVEL: 'info',
    // Send gate and lease timings scaled to the test (a worker that does not know them ignores them).
    LEASE_TTL_MS: '2000',
    UNSENT_SETTLE_MS: String(PROCESSING_MS * 5),
    UNKNOWN_RETRY_BASE_MS: '200',
    UNKNOWN_RETRY_MAX: '10',
    THROTTLE_RETRY_MIN_MS: '200',
    THROTTLE_RETRY_MAX_MS: '1000',
    AUTH_PROBE_INTERVAL_MS: '1000',
    // A guardrail hold waits for an operator; this matrix is about crashes.
    GUARDRAILS_ENABLED: 'false',
  };
}

const ids = (from: number, to: number, prefix: string) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

async function queueDepth(stack: TestStack): Promise<number> {
  const res = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const a = res.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

const FINAL = new Set(['finished', 'archived', 'abandoned', 'discarded']);

async function runCase(point: string, workers: number): Promise<CaseResult> {
  const started = Date.now();
  const n = ++caseNo;
  const result: CaseResult = {
    point,
    workers,
    hit: false,
    passed: false,
    seconds: 0,
    kills: 0,
    restarts: 0,
    report: null,
    error: null,
  };
  const catalogId = `55${String(n).padStart(8, '0')}`;
  const { stack, sim } = await startSandbox(`fp${n}`, {
    accessToken: TOKEN,
    processingDelayMs: PROCESSING_MS,
    hourlyCallBudget: 10_000,
  });
  // The first batch ends in `error` after applying some of its items: the poll and retry paths run too.
  sim.setFaults({ batchError: { times: 1, apply: 'some', listInvalid: 'none' }, seed: n });
  const ledger = new Ledger('fp');
  const pool = new WorkerPool({
    env: workerEnv(stack, sim, catalogId),
    bin: process.env.FAILPOINT_MATRIX_WORKER_BIN || undefined,
  });
  const target: OracleTarget = {
    s3: stack.clients.s3,
    sqs: stack.clients.sqs,
    landingBucket: stack.landingBucket,
    syncedBucket: stack.syncedBucket,
    dlqUrl: stack.dlqUrl,
    catalogId,
    sim,
    ledger,
  };
  const upload = (from: number, to: number) =>
    ledger.upload(stack.clients.s3, stack.landingBucket, ledger.rowsFor(ids(from, to, 'FP-')));
  const killedAtPoint = (p: WorkerProcess) => p.exit?.signal === 'SIGKILL' && p.failpointHits.includes(point);
  const replaced = new Set<number>();
  /** Every worker that died is replaced by one without the failpoint. */
  const supervise = () => {
    for (const p of pool.processes) {
      if (p.exit && !replaced.has(p.id)) {
        replaced.add(p.id);
        if (p.exit.signal === 'SIGKILL') result.kills++;
        pool.start(2);
        result.restarts++;
      }
    }
  };
  try {
    const armed = Array.from({ length: workers }, () =>
      pool.start(1, { CATALOG_SYNC_FAILPOINTS: `${point}=kill` }),
    );
    await waitStarted(armed);
    await upload(1, 8);
    // The second file, overlapping the first, once the first reached Meta (or a worker died on the way).
    await until(
      'the first items_batch call, or a worker exit',
      () =>
        sim.calls().some((c) => c.catalogId === catalogId && c.endpoint === 'items_batch') ||
        pool.processes.some((p) => p.exit !== null),
      { timeoutMs: HIT_DEADLINE_MS },
    );
    await upload(5, 12);
    try {
      await until(`a worker killed at failpoint ${point}`, () => pool.processes.some(killedAtPoint), {
        timeoutMs: HIT_DEADLINE_MS,
      });
      result.hit = true;
    } catch {
      throw new Error(
        `failpoint ${point} was never hit (${workers} worker(s), ${HIT_DEADLINE_MS / 1000} s): ` +
          'its failpoint() call is missing or not on this path',
      );
    }
    let last: OracleReport | null = null;
    await until(
      'convergence (newest values, every landing file archivable, queue empty, every manifest final as the DAG sees it)',
      async () => {
        supervise();
        last = await checkOracle(target, { final: true, mode: 'archivable', slack: pool.live().length });
        if (!last.ok) return false;
        const manifests = await readManifests(stack.clients.s3, stack.syncedBucket);
        const settled = manifests.every((m) => FINAL.has(effectiveState(m, manifests, stack.landingBucket)));
        return settled && (await queueDepth(stack)) === 0;
      },
      { timeoutMs: CONVERGE_DEADLINE_MS, intervalMs: 500 },
    ).catch((err: Error) => {
      const why = last ? last.problems.slice(0, 12).join('\n  ') : '';
      throw new Error(`${err.message}${why ? `\n  ${why}` : ''}`);
    });
    await pool.stopAll('SIGTERM', 10_000);
    result.report = await checkOracle(target, { final: true, mode: 'archivable' });
    if (!result.report.ok) throw new Error(`oracle:\n  ${result.report.problems.join('\n  ')}`);
    result.passed = true;
  } catch (err) {
    const tails = pool.processes
      .map(
        (p) =>
          `--- worker ${p.id} (gen ${p.generation}, exit ${JSON.stringify(p.exit)}):\n${p.tail.slice(-12).join('\n')}`,
      )
      .join('\n');
    result.error = `${(err as Error).message}${process.env.FAILPOINT_MATRIX_DUMP ? `\n${tails}` : ''}`;
  } finally {
    await pool.stopAll('SIGKILL', 5000);
    await sim.stop();
    result.seconds = Math.round((Date.now() - started) / 100) / 10;
    results.push(result);
  }
  return result;
}

describe(`failpoint matrix (${process.env.CATALOG_SYNC_TEST_STATE_STORE ?? 's3'} state store): SIGKILL at every failpoint, one and two workers, then the chaos oracle`, function () {
  this.timeout(2 * (HIT_DEADLINE_MS * 2 + CONVERGE_DEADLINE_MS) + 60_000);

  after(() => {
    const cell = (r: CaseResult | undefined) =>
      r
        ? `${r.hit ? 'hit' : 'NOT HIT'}, ${r.passed ? 'passed' : 'FAILED'} (${r.seconds} s, ${r.kills} kills)`
        : '-';
    const lines = FAILPOINTS.map((p) => {
      const one = results.find((r) => r.point === p && r.workers === 1);
      const two = results.find((r) => r.point === p && r.workers === 2);
      return `  ${p.padEnd(36)} 1 worker: ${cell(one).padEnd(36)} 2 workers: ${cell(two)}`;
    });
    console.log(`\n  failpoint matrix\n${lines.join('\n')}\n`);
  });

  for (const point of FAILPOINTS) {
    it(`${point}: killed there (1 worker; 2 workers), restarted, converges and the oracle holds`, async () => {
      const [one, two] = await Promise.all([runCase(point, 1), runCase(point, 2)]);
      const failures = [one!, two!].filter((r) => !r.passed).map((r) => `${r.workers} worker(s): ${r.error}`);
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }
});
