import { expect } from 'chai';
import { CallBudget } from '../../src/meta/call-budget.ts';
import { classifyGraphError, GraphApiError } from '../../src/meta/graph-error.ts';
import { parseBatchStatus, parseItemsBatchResponse } from '../../src/meta/graph-responses.ts';
import { formatBucUsage, parseBucUsage, type BucUsage } from '../../src/meta/usage-header.ts';

const HOUR = 3_600_000;
const usage = (pct: number, etaMinutes = 0): BucUsage => ({ entries: [], pct, etaMinutes });

describe('meta: usage header', () => {
  it('reads every key and entry and keeps the most pessimistic values', () => {
    const raw = JSON.stringify({
      '111': [
        {
          type: 'catalog_batch',
          call_count: 40,
          total_cputime: 70,
          total_time: 5,
          estimated_time_to_regain_access: 0,
        },
      ],
      '222': [{ type: 'other', call_count: '12', estimated_time_to_regain_access: 4 }],
    });
    const u = parseBucUsage(raw)!;
    expect(u.pct).to.equal(70);
    expect(u.etaMinutes).to.equal(4);
    expect(u.entries).to.have.length(2);
    expect(u.entries[1]).to.include({ key: '222', callCount: 12 });
  });

  it('ignores absent or malformed headers', () => {
    for (const raw of [null, '', 'not json', '[]', '{}', '{"1":[null]}'])
      expect(parseBucUsage(raw)).to.equal(null);
  });

  it('round-trips the simulator format', () => {
    const u = parseBucUsage(formatBucUsage('9', 'catalog_batch', { callCount: 95, etaMinutes: 2 }))!;
    expect(u).to.include({ pct: 95, etaMinutes: 2 });
    expect(u.entries[0]!.type).to.equal('catalog_batch');
  });
});

describe('meta: error classification', () => {
  const cases: [Parameters<typeof classifyGraphError>[0], string][] = [
    [{ endpoint: 'items_batch', code: 1, httpStatus: 500 }, 'payload-too-large'],
    [{ endpoint: 'check_batch_request_status', code: 1, httpStatus: 500 }, 'transient'],
    [{ endpoint: 'items_batch', code: 2, httpStatus: 503 }, 'transient'],
    [{ endpoint: 'items_batch', code: 341, httpStatus: 400 }, 'throttled'],
    [{ endpoint: 'items_batch', code: 80000, httpStatus: 400 }, 'throttled'],
    [{ endpoint: 'items_batch', code: 104, httpStatus: 400 }, 'auth'],
    [{ endpoint: 'items_batch', code: 250, httpStatus: 403 }, 'permission'],
    [{ endpoint: 'items_batch', code: 100, httpStatus: 500 }, 'invalid-parameter'],
    [{ endpoint: 'items_batch', code: 9999, httpStatus: 400, isTransient: true }, 'transient'],
    [{ endpoint: 'items_batch', code: 9999, httpStatus: 500 }, 'transient'],
    [{ endpoint: 'items_batch', code: 9999, httpStatus: 400 }, 'unknown'],
    [{ endpoint: 'items_batch', code: null, httpStatus: 429 }, 'throttled'],
    [{ endpoint: 'items_batch', code: null, httpStatus: 502 }, 'transient'],
    [{ endpoint: 'items_batch', code: null, httpStatus: 404 }, 'unknown'],
  ];
  for (const [input, kind] of cases) {
    it(`code ${input.code} / HTTP ${input.httpStatus} on ${input.endpoint} → ${kind}`, () => {
      expect(classifyGraphError(input)).to.equal(kind);
    });
  }

  it('serializes only its typed fields', () => {
    const e = new GraphApiError({ kind: 'auth', message: 'm', code: 190, subcode: 463, httpStatus: 400 });
    expect(JSON.parse(JSON.stringify(e))).to.deep.include({
      name: 'GraphApiError',
      kind: 'auth',
      code: 190,
      subcode: 463,
    });
    expect(e.with({ attempts: 3 })).to.include({ attempts: 3, kind: 'auth', message: 'm' });
  });
});

describe('meta: response parsing', () => {
  it('treats every non-final status as running, and canceled as a final error', () => {
    for (const raw of ['dispatched', 'started', 'scheduled', 'IN_PROGRESS']) {
      expect(parseBatchStatus({ data: [{ handle: 'h', status: raw }] }, 'h').kind).to.equal('running');
    }
    expect(parseBatchStatus({ data: [{ status: 'Canceled' }] }, 'h')).to.deep.include({
      kind: 'error',
      raw: 'canceled',
    });
    const fin = parseBatchStatus(
      { data: [{ status: 'Finished', errors: [{ line: '3', id: 7, message: 'm' }] }] },
      'h',
    );
    expect(fin).to.deep.include({ kind: 'finished', errorsTotal: 1, invalidIds: [] });
    if (fin.kind !== 'running') expect(fin.errors).to.deep.equal([{ id: '7', line: 3, message: 'm' }]);
    expect(() => parseBatchStatus({ data: [] }, 'h')).to.throw(GraphApiError);
    expect(() => parseItemsBatchResponse({})).to.throw(GraphApiError);
  });
});

describe('meta: call budget', () => {
  const clock = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  it('counts calls in a rolling hour against the configured budget', () => {
    const c = clock();
    const b = new CallBudget({ hourlyCallBudget: 5, now: c.now });
    for (let i = 0; i < 3; i++) {
      expect(b.check().waitMs).to.equal(0);
      b.record();
      c.t += 1000;
    }
    expect(b.remaining()).to.equal(2);
    b.record(); // 4 of 5 = 80 %: paced at an hour / 5
    expect(b.check()).to.include({ reason: 'pacing', waitMs: HOUR / 5 });
    b.record();
    expect(b.check()).to.include({ reason: 'local-budget', waitMs: HOUR - 3000, remaining: 0 });
    c.t = HOUR; // the first call (t=0) leaves the window
    expect(b.remaining()).to.equal(1);
  });

  it('estimates Meta’s capacity from how far the percentage moves per call', () => {
    const c = clock();
    const b = new CallBudget({ hourlyCallBudget: 1000, now: c.now });
    expect(b.estimatedCapacity()).to.equal(null);
    b.record();
    b.observe(usage(91)); // after a restart: Meta already at 91 %, we know nothing of those calls
    expect(b.check()).to.include({ reason: 'pacing', waitMs: HOUR / 1000 });
    c.t += HOUR / 1000;
    b.record();
    b.observe(usage(92));
    expect(b.estimatedCapacity()).to.equal(100);
    const d = b.check();
    expect(d).to.include({ reason: 'pacing', capacity: 100, remaining: 8 });
    expect(d.waitMs).to.equal(HOUR / 100);
  });

  it('at 100 % waits until enough of our calls leave the hour; then the estimate drops', () => {
    const c = clock();
    // A 4-call quota is below the plausibility floor of a real one: allow it for this test.
    const b = new CallBudget({ hourlyCallBudget: 1000, now: c.now, minCapacity: 1 });
    for (let i = 1; i <= 4; i++) {
      b.record();
      b.observe(usage(i * 25));
      c.t += 60_000;
    }
    expect(b.check()).to.include({ reason: 'meta-usage', waitMs: HOUR - 4 * 60_000, remaining: 0 });
    c.t = HOUR;
    expect(b.check()).to.include({ waitMs: 0, usagePct: 75 });
  });

  it('an ETA in the header blocks until then, whatever the percentage', () => {
    const c = clock();
    const b = new CallBudget({ hourlyCallBudget: 10, now: c.now });
    b.record();
    b.observe(usage(100, 3));
    expect(b.check()).to.include({ reason: 'blocked', waitMs: 180_000 });
    c.t = 180_000;
    expect(b.check().waitMs).to.equal(0);
  });

  it('honours slowdownPct and hardStopPct', () => {
    const c = clock();
    const b = new CallBudget({
      hourlyCallBudget: 100,
      now: c.now,
      slowdownPct: 50,
      hardStopPct: 90,
      minCapacity: 1, // 50 → 90 % in one call
    });
    b.record();
    b.observe(usage(49));
    expect(b.check().waitMs).to.equal(0);
    b.record();
    b.observe(usage(50));
    expect(b.check().reason).to.equal('pacing');
    b.record();
    b.observe(usage(90));
    expect(b.check().reason).to.equal('meta-usage');
  });

  it('acquire: waits short waits, throws long ones without recording', async () => {
    const c = clock();
    const b = new CallBudget({ hourlyCallBudget: 2, now: c.now });
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      c.t += ms;
    };
    const tooLong = () => new Error('too long');
    await b.acquire({ maxWaitMs: 10, sleep, onTooLong: tooLong });
    await b.acquire({ maxWaitMs: HOUR, sleep, onTooLong: tooLong }); // 1 of 2 = 50 %: no wait
    let thrown: unknown;
    try {
      await b.acquire({ maxWaitMs: 10, sleep, onTooLong: tooLong });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).to.equal('too long');
    expect(b.remaining()).to.equal(0);
    await b.acquire({ maxWaitMs: HOUR, sleep, onTooLong: tooLong });
    expect(slept).to.deep.equal([HOUR]);
  });
});
