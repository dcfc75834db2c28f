import { Writable } from 'node:stream';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import {
  createMetrics,
  METRICS,
  type CounterName,
  type MetricName,
  type SampleName,
} from '../src/metrics.ts';

/** The EMF specification's structure (CloudWatch_Embedded_Metric_Format_Specification), as JSON Schema. */
const EMF_SCHEMA = {
  type: 'object',
  required: ['_aws'],
  properties: {
    _aws: {
      type: 'object',
      required: ['Timestamp', 'CloudWatchMetrics'],
      properties: {
        Timestamp: { type: 'integer', minimum: 0 },
        CloudWatchMetrics: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['Namespace', 'Dimensions', 'Metrics'],
            additionalProperties: false,
            properties: {
              Namespace: { type: 'string', minLength: 1, maxLength: 1024 },
              Dimensions: {
                type: 'array',
                items: {
                  type: 'array',
                  maxItems: 30,
                  items: { type: 'string', minLength: 1, maxLength: 250 },
                },
              },
              Metrics: {
                type: 'array',
                minItems: 1,
                maxItems: 100,
                items: {
                  type: 'object',
                  required: ['Name'],
                  additionalProperties: false,
                  properties: {
                    Name: { type: 'string', minLength: 1, maxLength: 1024 },
                    Unit: {
                      enum: [
                        'Seconds',
                        'Microseconds',
                        'Milliseconds',
                        'Bytes',
                        'Kilobytes',
                        'Megabytes',
                        'Gigabytes',
                        'Terabytes',
                        'Bits',
                        'Kilobits',
                        'Megabits',
                        'Gigabits',
                        'Terabits',
                        'Percent',
                        'Count',
                        'Bytes/Second',
                        'Kilobytes/Second',
                        'Megabytes/Second',
                        'Gigabytes/Second',
                        'Terabytes/Second',
                        'Bits/Second',
                        'Kilobits/Second',
                        'Megabits/Second',
                        'Gigabits/Second',
                        'Terabits/Second',
                        'Count/Second',
                        'None',
                      ],
                    },
                    StorageResolution: { enum: [1, 60] },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

const validateEmf = new Ajv({ allErrors: true, strict: true }).compile(EMF_SCHEMA);

/** Checks a line against the schema and the spec's rules a schema cannot say: every target member exists. */
function parseEmf(line: string): EmfLine {
  const doc = JSON.parse(line) as EmfLine;
  expect(validateEmf(doc), JSON.stringify(validateEmf.errors)).to.be.true;
  for (const directive of doc._aws.CloudWatchMetrics) {
    for (const dim of directive.Dimensions.flat()) expect(doc[dim], `dimension ${dim}`).to.be.a('string');
    for (const { Name } of directive.Metrics) {
      const value = doc[Name];
      const values = Array.isArray(value) ? value : [value];
      expect(values.length, `values of ${Name}`).to.be.within(1, 100);
      for (const v of values) expect(v, `value of ${Name}`).to.be.a('number');
    }
  }
  return doc;
}

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '');
  return { stream, lines };
}

/** Runs `fn` with process.stdout captured, so a test can show nothing leaked there. */
function stdoutDuring(fn: () => void): string {
  const written: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return written.join('');
}

const counterNames = (Object.keys(METRICS) as MetricName[]).filter(
  (n): n is CounterName => METRICS[n].kind === 'counter',
);
const sampleNames = (Object.keys(METRICS) as MetricName[]).filter(
  (n): n is SampleName => METRICS[n].kind === 'sample',
);

describe('metrics (EMF)', () => {
  const T0 = Date.UTC(2026, 10, 25, 17, 0, 0);

  it('names every metric the alarms use, durations in milliseconds or seconds and everything else a count', () => {
    expect(Object.keys(METRICS)).to.have.members([
      'FilesProcessed',
      'RowsValid',
      'RowsRejected',
      'ItemsSent',
      'ItemsAccepted',
      'ItemsRejected',
      'BatchCalls',
      'CallBudgetRemaining',
      'Throttles',
      'EndToEndLatencyMs',
      'HeldMessages',
      'FlushDurationMs',
      'AuthFailures',
      'SyncSucceeded',
      'SubmissionsHalted',
      'ItemsUnknownFate',
      'BudgetWaitMs',
      'OldestHeldFileAgeSeconds',
      'WindowsHeld',
      'DriftItemsOutOfStep',
    ]);
    for (const [name, spec] of Object.entries(METRICS)) {
      const unit = name.endsWith('Ms') ? 'Milliseconds' : name.endsWith('Seconds') ? 'Seconds' : 'Count';
      expect(spec.unit, name).to.equal(unit);
    }
  });

  it('writes one valid EMF line with namespace, service dimension, every metric, its unit and value', () => {
    const out = capture();
    const metrics = createMetrics({
      namespace: 'CatalogSync/test',
      service: 'worker',
      stream: out.stream,
      now: () => T0,
    });
    counterNames.forEach((name, i) => metrics.count(name, i + 1));
    sampleNames.forEach((name, i) => metrics.record(name, 10 * (i + 1)));

    const leaked = stdoutDuring(() => metrics.flush());

    expect(leaked).to.equal('');
    expect(out.lines()).to.have.length(1);
    const doc = parseEmf(out.lines()[0]!);
    expect(doc._aws.Timestamp).to.equal(T0);
    expect(doc._aws.CloudWatchMetrics).to.have.length(1);
    const [directive] = doc._aws.CloudWatchMetrics;
    expect(directive!.Namespace).to.equal('CatalogSync/test');
    expect(directive!.Dimensions).to.deep.equal([['service']]);
    expect(doc.service).to.equal('worker');
    const units = Object.fromEntries(directive!.Metrics.map((m) => [m.Name, m.Unit]));
    expect(units).to.deep.equal(Object.fromEntries(Object.entries(METRICS).map(([n, s]) => [n, s.unit])));
    counterNames.forEach((name, i) => expect(doc[name], name).to.equal(i + 1));
    sampleNames.forEach((name, i) => expect(doc[name], name).to.equal(10 * (i + 1)));
  });

  it('sums counters and keeps every sample until a flush, then starts empty', () => {
    const out = capture();
    const metrics = createMetrics({ namespace: 'NS', service: 'worker', stream: out.stream });
    metrics.count('FilesProcessed');
    metrics.count('FilesProcessed', 4);
    metrics.count('ItemsSent', 0);
    metrics.record('FlushDurationMs', 120);
    metrics.record('FlushDurationMs', 80);
    metrics.flush();
    metrics.flush();

    expect(out.lines()).to.have.length(1);
    const doc = parseEmf(out.lines()[0]!);
    expect(doc.FilesProcessed).to.equal(5);
    expect(doc.ItemsSent).to.equal(0);
    expect(doc.FlushDurationMs).to.deep.equal([120, 80]);
    expect(doc.RowsValid).to.equal(undefined);
  });

  it('splits more samples than one line may hold over several lines, all on the given stream', () => {
    const out = capture();
    const metrics = createMetrics({ namespace: 'NS', service: 'worker', stream: out.stream });
    metrics.count('BatchCalls', 3);
    for (let i = 0; i < 250; i++) metrics.record('EndToEndLatencyMs', i);

    const leaked = stdoutDuring(() => metrics.flush());

    expect(leaked).to.equal('');
    const docs = out.lines().map(parseEmf);
    expect(docs).to.have.length(3);
    expect(docs.flatMap((d) => d.EndToEndLatencyMs as number[])).to.deep.equal([...Array(250).keys()]);
    expect(docs.map((d) => d.BatchCalls)).to.deep.equal([3, undefined, undefined]);
  });

  it('adds flush context as searchable properties that are not metrics', () => {
    const out = capture();
    const metrics = createMetrics({ namespace: 'NS', service: 'worker', stream: out.stream });
    metrics.count('SyncSucceeded');
    metrics.flush({ window: '2026-11-25T17', manifest: 'synced/manifests/abc.json' });

    const doc = parseEmf(out.lines()[0]!);
    expect(doc.window).to.equal('2026-11-25T17');
    expect(doc.manifest).to.equal('synced/manifests/abc.json');
    expect(doc._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).to.deep.equal(['SyncSucceeded']);
  });

  it('refuses values that would make a wrong metric', () => {
    const metrics = createMetrics({ namespace: 'NS', service: 'worker', stream: capture().stream });
    expect(() => metrics.record('HeldMessages', Number.NaN)).to.throw(RangeError, /HeldMessages/);
    expect(() => metrics.count('Throttles', Infinity)).to.throw(RangeError, /Throttles/);
    expect(() => metrics.count('Throttles', -1)).to.throw(RangeError, /cannot go down/);
  });

  it('writes nothing when nothing was recorded', () => {
    const out = capture();
    createMetrics({ namespace: 'NS', service: 'worker', stream: out.stream }).flush();
    expect(out.lines()).to.deep.equal([]);
  });
});
