import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { VARS } from '../../src/config.ts';
import {
  createMetrics,
  METRICS,
  WORKER_SERVICE,
  type CounterName,
  type SampleName,
} from '../../src/metrics.ts';
import { Evaluator, loadInfra, STORAGE_EXPORTS } from './support/cfn-eval.ts';

interface MetricRef {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: string }[];
}
interface Alarm extends Partial<MetricRef> {
  logicalId: string;
  AlarmName: string;
  AlarmDescription: string;
  Statistic?: string;
  Period?: number;
  EvaluationPeriods: number | string;
  DatapointsToAlarm?: number | string;
  /** A number, or a parameter's value (a string) where the template refers to one. */
  Threshold: number | string;
  ComparisonOperator: string;
  TreatMissingData: string;
  AlarmActions: string[];
  OKActions?: string[];
  Metrics?: {
    Id: string;
    Expression?: string;
    MetricStat?: { Metric: MetricRef; Stat: string; Period: number };
  }[];
}

const queueName = (arn: string) => arn.split(':')[5]!;

/**
 * The reconciliation DAG's metric contract (agreed with the DAG's owner): published once per hourly sweep,
 * namespace MetricsNamespace, dimension service=reconciliation.
 */
const SWEEP_SERVICE = 'reconciliation';
const SWEEP_METRICS = [
  'OldestUndeliveredFileAgeSeconds',
  'ManifestsUnfinished',
  'ItemsUnknownFate',
  'UnsupportedLandingFiles',
];
/** The worker metrics this issue adds to src/metrics.ts (name, unit, kind). */
const NEW_WORKER_METRICS = {
  SubmissionsHalted: { unit: 'Count', kind: 'counter' },
  ItemsUnknownFate: { unit: 'Count', kind: 'counter' },
  BudgetWaitMs: { unit: 'Milliseconds', kind: 'sample' },
  OldestHeldFileAgeSeconds: { unit: 'Seconds', kind: 'sample' },
} as const;

/**
 * From a metric's value being published to the alarm acting on it: EMF lines reach CloudWatch within
 * about a minute, and an alarm is evaluated once a minute.
 */
const EVALUATION_LAG_S = 120;
/** The worker publishes its per-minute metrics (and SQS its queue metrics) every minute. */
const PER_MINUTE = 60;

/** Every metric an alarm selects, directly or inside a metric-math expression. */
const metricsOf = (a: Alarm): MetricRef[] =>
  [a.MetricName ? (a as MetricRef) : undefined, ...(a.Metrics ?? []).map((m) => m.MetricStat?.Metric)].filter(
    (m): m is MetricRef => m !== undefined,
  );
const periodOf = (a: Alarm) => a.Period ?? a.Metrics!.find((m) => m.MetricStat)!.MetricStat!.Period;

describe('alarms and metrics (infra/observability.yml)', () => {
  let ev: Evaluator;
  let alarms: Alarm[];
  let topic: string;
  let sla: number;
  let sweepIntervalS: number;

  before(async () => {
    ev = new Evaluator(await loadInfra('observability.yml'));
    alarms = Object.entries(ev.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => ({ logicalId: id, ...(ev.eval(r.Properties) as Omit<Alarm, 'logicalId'>) }));
    topic = ev.physical('AlarmTopic').ref;
    sla = Number(ev.params.SlaSeconds);
    // The DAG's schedule, from the DAG itself: an hourly cron ("M * * * *") is one sweep an hour.
    const dag = await readFile(path.join(repoRoot, 'dags', 'catalog_reconciliation.py'), 'utf8');
    const cron = /^DEFAULT_SCHEDULE = "([^"]+)"/m.exec(dag)![1]!;
    expect(cron, 'the sweep runs hourly').to.match(/^\d{1,2} \* \* \* \*$/);
    sweepIntervalS = 3600;
  });

  const alarm = (id: string) => {
    const a = alarms.find((x) => x.logicalId === id);
    if (!a) throw new Error(`no alarm ${id}`);
    return a;
  };

  it('select only metrics the worker (src/metrics.ts) or the sweep (its contract) emits, each under its service', () => {
    const used = alarms.flatMap(metricsOf).filter((m) => m.Namespace === ev.params.MetricsNamespace);
    expect(used.length).to.be.greaterThan(0);
    for (const m of used) {
      const service = m.Dimensions?.find((d) => d.Name === 'service')?.Value;
      expect(m.Dimensions, m.MetricName).to.have.length(1);
      if (service === WORKER_SERVICE) {
        // Fails until src/metrics.ts has the entries this issue adds (OldestHeldFileAgeSeconds,
        // SubmissionsHalted, ItemsUnknownFate).
        expect(Object.keys(METRICS), `${m.MetricName} in src/metrics.ts METRICS`).to.include(m.MetricName);
      } else {
        expect(service, m.MetricName).to.equal(SWEEP_SERVICE);
        expect(SWEEP_METRICS, m.MetricName).to.include(m.MetricName);
      }
    }
    expect(ev.params.MetricsService).to.equal(WORKER_SERVICE);
    expect(ev.params.SweepMetricsService).to.equal(SWEEP_SERVICE);
    expect(ev.params.MetricsNamespace).to.equal(VARS.metricsNamespace.default);
  });

  it('the worker task and the DAG role publish under the namespace the alarms select', async () => {
    const service = new Evaluator(await loadInfra('worker-service.yml'));
    const env = (
      service.eval(service.template.Resources.WorkerTaskDefinition!.Properties) as {
        ContainerDefinitions: { Environment: { Name: string; Value: string }[] }[];
      }
    ).ContainerDefinitions[0]!.Environment;
    expect(env).to.deep.include({ Name: 'METRICS_NAMESPACE', Value: service.params.MetricsNamespace });
    const airflow = new Evaluator(await loadInfra('airflow.yml'));
    const dagRole = JSON.stringify(airflow.eval(airflow.template.Resources.AirflowExecutionRole!.Properties));
    expect(dagRole).to.include(
      JSON.stringify({ StringEquals: { 'cloudwatch:namespace': airflow.params.MetricsNamespace } }),
    );
    expect(airflow.params.MetricsNamespace).to.equal(ev.params.MetricsNamespace);
  });

  describe('fire within the SLA budget (threshold, period and evaluation periods)', () => {
    /**
     * Worst case from the condition starting to hold to the alarm firing:
     *   (age metrics: the threshold, in seconds of age) + until the next value is published (cadence)
     *   + one more period per further datapoint the alarm needs + the evaluation lag.
     */
    const worstCase = (a: Alarm, kind: 'age' | 'event', cadenceS: number) => {
      const period = periodOf(a);
      const needed = Number(a.DatapointsToAlarm ?? a.EvaluationPeriods);
      const expression = a.Metrics?.find((m) => m.Expression)?.Expression;
      let ageThreshold = 0;
      if (kind === 'age') {
        const pct = expression ? /^100 \* \w+ \/ (\d+)$/.exec(expression) : null;
        ageThreshold = pct ? (Number(a.Threshold) / 100) * Number(pct[1]) : Number(a.Threshold);
      }
      return ageThreshold + cadenceS + (needed - 1) * Math.max(period, cadenceS) + EVALUATION_LAG_S;
    };

    const budgets = (): Record<string, { kind: 'age' | 'event'; cadenceS: number; budgetS: number }> => ({
      // Worker and SQS metrics, published every minute: inside the SLA.
      HeldFileAgeAlarm: { kind: 'age', cadenceS: PER_MINUTE, budgetS: sla },
      OldestMessageAgeAlarm: { kind: 'age', cadenceS: PER_MINUTE, budgetS: sla },
      DeadLetterQueueNotEmptyAlarm: { kind: 'event', cadenceS: PER_MINUTE, budgetS: sla },
      WorkerHaltedAlarm: { kind: 'event', cadenceS: PER_MINUTE, budgetS: sla },
      ItemsUnknownFateAlarm: { kind: 'event', cadenceS: PER_MINUTE, budgetS: sla },
      AuthFailureAlarm: { kind: 'event', cadenceS: PER_MINUTE, budgetS: sla },
      WindowHeldAlarm: { kind: 'event', cadenceS: PER_MINUTE, budgetS: sla },
      // The sweep sees a condition once an hour: conditions it alone sees fire at the first sweep after
      // they hold; a lost event at the first sweep after the file crossed the threshold (SLA + one sweep).
      UndeliveredFileAgeAlarm: { kind: 'age', cadenceS: sweepIntervalS, budgetS: sla + sweepIntervalS },
      ManifestsUnfinishedAlarm: {
        kind: 'event',
        cadenceS: sweepIntervalS,
        budgetS: sweepIntervalS + EVALUATION_LAG_S,
      },
      SweepItemsUnknownFateAlarm: {
        kind: 'event',
        cadenceS: sweepIntervalS,
        budgetS: sweepIntervalS + EVALUATION_LAG_S,
      },
    });
    /** Quality alarms over a whole hour of data, not a delay: no SLA budget applies. */
    const NOT_TIMELINESS = ['ItemRejectionRatioAlarm', 'RowRejectionRatioAlarm'];

    it('every alarm has a budget, or is a quality ratio', () => {
      expect(alarms.map((a) => a.logicalId)).to.have.members([...Object.keys(budgets()), ...NOT_TIMELINESS]);
    });

    for (const id of [
      'HeldFileAgeAlarm',
      'OldestMessageAgeAlarm',
      'DeadLetterQueueNotEmptyAlarm',
      'WorkerHaltedAlarm',
      'ItemsUnknownFateAlarm',
      'AuthFailureAlarm',
      'WindowHeldAlarm',
      'UndeliveredFileAgeAlarm',
      'ManifestsUnfinishedAlarm',
      'SweepItemsUnknownFateAlarm',
    ]) {
      it(`${id}`, () => {
        const { kind, cadenceS, budgetS } = budgets()[id]!;
        const a = alarm(id);
        const detection = worstCase(a, kind, cadenceS);
        expect(detection, `${id}: worst case ${detection} s, budget ${budgetS} s`).to.be.at.most(budgetS);
      });
    }

    it('alarm on a file older than the configured share of the SLA (45 minutes by default)', () => {
      expect((Number(ev.params.FileAgeAlarmSlaPercent) * sla) / 100).to.equal(45 * 60);
      for (const id of ['HeldFileAgeAlarm', 'UndeliveredFileAgeAlarm']) {
        const a = alarm(id);
        expect(a.Metrics!.find((m) => m.Expression)!.Expression, id).to.equal(
          `100 * ${a.Metrics!.find((m) => m.MetricStat)!.Id} / ${sla}`,
        );
        expect(a).to.include({
          Threshold: ev.params.FileAgeAlarmSlaPercent,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
      expect(metricsOf(alarm('HeldFileAgeAlarm'))[0]!.MetricName).to.equal('OldestHeldFileAgeSeconds');
      expect(metricsOf(alarm('UndeliveredFileAgeAlarm'))[0]!.MetricName).to.equal(
        'OldestUndeliveredFileAgeSeconds',
      );
      // Between sweeps there is no data: keep the state the last sweep set rather than flap to OK.
      expect(alarm('UndeliveredFileAgeAlarm').TreatMissingData).to.equal('ignore');
    });

    it('alarm on a halted worker: SubmissionsHalted >= 1 in 5 minutes, missing data not breaching', () => {
      expect(alarm('WorkerHaltedAlarm')).to.include({
        MetricName: 'SubmissionsHalted',
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      // Emitted every minute while halted: every 5-minute period of a halt breaches, so it stays in ALARM.
      expect(300 / PER_MINUTE).to.be.at.least(1);
    });

    it('alarm when the dead-letter queue holds any message (>= 1 visible)', () => {
      expect(alarm('DeadLetterQueueNotEmptyAlarm')).to.include({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(alarm('DeadLetterQueueNotEmptyAlarm').Dimensions).to.deep.equal([
        { Name: 'QueueName', Value: queueName(STORAGE_EXPORTS.DeadLetterQueueArn!) },
      ]);
    });

    it('alarm on manifests unfinished past the limit, and on items of unknown fate (worker and sweep)', () => {
      expect(alarm('ManifestsUnfinishedAlarm')).to.include({
        MetricName: 'ManifestsUnfinished',
        Threshold: ev.params.ManifestsUnfinishedMax,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      for (const [id, service] of [
        ['ItemsUnknownFateAlarm', WORKER_SERVICE],
        ['SweepItemsUnknownFateAlarm', SWEEP_SERVICE],
      ] as const) {
        expect(alarm(id), id).to.include({
          MetricName: 'ItemsUnknownFate',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        expect(alarm(id).Dimensions, id).to.deep.equal([{ Name: 'service', Value: service }]);
      }
    });

    it('no longer waits hours for "no successful sync" (replaced by the alarms above)', () => {
      expect(alarms.flatMap(metricsOf).map((m) => m.MetricName)).not.to.include('SyncSucceeded');
      expect(ev.template.Parameters).not.to.have.property('NoSyncHours');
      for (const a of alarms.filter((x) => x.logicalId in budgets()))
        expect(a.TreatMissingData, a.logicalId).not.to.equal('breaching');
    });
  });

  describe('the metrics are emitted when the condition holds', () => {
    /** Captures the worker's EMF lines, as src/metrics.ts writes them. */
    function emitted(drive: (m: ReturnType<typeof createMetrics>) => void): Record<string, unknown> {
      const chunks: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk.toString());
          done();
        },
      });
      const metrics = createMetrics({
        namespace: ev.params.MetricsNamespace!,
        service: WORKER_SERVICE,
        stream,
        now: () => Date.UTC(2026, 10, 25, 17, 0, 0),
      });
      drive(metrics);
      metrics.flush();
      const lines = chunks.join('').split('\n').filter(Boolean);
      expect(lines).to.have.length(1);
      return JSON.parse(lines[0]!) as Record<string, unknown>;
    }

    const declared = (line: Record<string, unknown>) =>
      (
        line._aws as {
          CloudWatchMetrics: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit: string }[];
          }[];
        }
      ).CloudWatchMetrics[0]!;

    /** The EMF line lands where the alarm looks: namespace, service dimension, name, unit. */
    function expectSelectedBy(a: Alarm, line: Record<string, unknown>, unit: string) {
      const [m] = metricsOf(a);
      const directive = declared(line);
      expect(directive.Namespace).to.equal(m!.Namespace);
      expect(directive.Dimensions).to.deep.equal([m!.Dimensions!.map((d) => d.Name)]);
      for (const d of m!.Dimensions!) expect(line[d.Name]).to.equal(d.Value);
      expect(directive.Metrics).to.deep.include({ Name: m!.MetricName, Unit: unit });
    }

    it('adds the four worker metrics to src/metrics.ts with their units and kinds', () => {
      // Fails until the lead adds the METRICS entries (report of this change).
      for (const [name, spec] of Object.entries(NEW_WORKER_METRICS)) {
        expect(METRICS, name).to.have.property(name);
        expect((METRICS as Record<string, { unit: string; kind: string }>)[name]).to.deep.equal(spec);
      }
    });

    it('OldestHeldFileAgeSeconds past the share of the SLA breaches HeldFileAgeAlarm', () => {
      const a = alarm('HeldFileAgeAlarm');
      const age = (Number(a.Threshold) / 100) * sla + 1;
      const line = emitted((m) => m.record('OldestHeldFileAgeSeconds' as SampleName, age));
      expectSelectedBy(a, line, 'Seconds');
      expect((100 * Number(line.OldestHeldFileAgeSeconds)) / sla).to.be.at.least(Number(a.Threshold));
    });

    it('one minute of halt (SubmissionsHalted 1) breaches WorkerHaltedAlarm', () => {
      const a = alarm('WorkerHaltedAlarm');
      const line = emitted((m) => m.count('SubmissionsHalted' as CounterName, 1));
      expectSelectedBy(a, line, 'Count');
      expect(Number(line.SubmissionsHalted)).to.be.at.least(Number(a.Threshold));
    });

    it('one item given up on (ItemsUnknownFate 1) breaches ItemsUnknownFateAlarm', () => {
      const a = alarm('ItemsUnknownFateAlarm');
      const line = emitted((m) => m.count('ItemsUnknownFate' as CounterName, 1));
      expectSelectedBy(a, line, 'Count');
      expect(Number(line.ItemsUnknownFate)).to.be.at.least(Number(a.Threshold));
    });

    it('one refused token (AuthFailures 1) breaches AuthFailureAlarm', () => {
      const a = alarm('AuthFailureAlarm');
      const line = emitted((m) => m.count('AuthFailures', 1));
      expectSelectedBy(a, line, 'Count');
      expect(Number(line.AuthFailures)).to.be.greaterThan(Number(a.Threshold));
    });

    it('BudgetWaitMs is a millisecond sample (on the dashboard, not alarmed)', () => {
      const line = emitted((m) => m.record('BudgetWaitMs' as SampleName, 1500));
      expect(declared(line).Metrics).to.deep.include({ Name: 'BudgetWaitMs', Unit: 'Milliseconds' });
      expect(line.BudgetWaitMs).to.equal(1500);
    });

    it('the DAG publishes every sweep metric the alarms and the dashboard use, under service=reconciliation', async () => {
      // Fails until the DAG's sweep metrics land in dags/ (the DAG owner's change).
      const dir = path.join(repoRoot, 'dags', 'catalog_sync_reconcile');
      const sources = [
        await readFile(path.join(repoRoot, 'dags', 'catalog_reconciliation.py'), 'utf8'),
        ...(await Promise.all(
          (await readdir(dir))
            .filter((f) => f.endsWith('.py'))
            .map((f) => readFile(path.join(dir, f), 'utf8')),
        )),
      ].join('\n');
      for (const name of SWEEP_METRICS) expect(sources, name).to.include(`"${name}"`);
      expect(sources).to.include(`"${SWEEP_SERVICE}"`);
    });
  });

  it('alarm on the share of items Meta rejected and of rows the CSV check rejected', () => {
    const ratio = (part: string, other: string) =>
      alarms.find((a) => {
        const names = metricsOf(a).map((m) => m.MetricName);
        return names.includes(part) && names.includes(other);
      });
    for (const a of [ratio('ItemsRejected', 'ItemsAccepted'), ratio('RowsRejected', 'RowsValid')]) {
      expect(a, 'ratio alarm').to.exist;
      const expression = a!.Metrics!.find((m) => m.Expression)!.Expression!;
      expect(expression).to.match(/100 \* FILL\(rejected, 0\) \/ \(FILL\(\w+, 0\) \+ FILL\(rejected, 0\)\)/);
      expect(a!.Threshold).to.equal(ev.params.RejectionRatioPercent);
    }
  });

  it('alarm when Meta refuses the token', () => {
    expect(alarm('AuthFailureAlarm')).to.include({
      MetricName: 'AuthFailures',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('notify the alarm topic, and each names a runbook section that exists', async () => {
    const runbook = await readFile(path.join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const headings = [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim());
    for (const a of alarms) {
      expect(a.AlarmActions, a.AlarmName).to.deep.equal([topic]);
      expect(a.OKActions, a.AlarmName).to.deep.equal([topic]);
      const section = /docs\/operations\.md, ("[^"]+")/.exec(a.AlarmDescription)?.[1];
      expect(section, `${a.AlarmName} names a runbook section`).to.be.a('string');
      expect(headings, a.AlarmName).to.include(section);
    }
  });

  describe('dashboard', () => {
    interface Widget {
      type: string;
      properties: { metrics?: unknown[][]; alarms?: string[] };
    }
    let widgets: Widget[];

    before(() => {
      const props = ev.eval(ev.template.Resources.Dashboard!.Properties) as {
        DashboardName: string;
        DashboardBody: string;
      };
      expect(props.DashboardName).to.equal(`catalog-sync-${ev.params.Stage}`);
      widgets = (JSON.parse(props.DashboardBody) as { widgets: Widget[] }).widgets;
    });

    /** "Namespace|Name|dim=value|…" of every metric line on the dashboard (full form, no "..." shorthand). */
    const shown = () =>
      widgets.flatMap((w) =>
        (w.properties.metrics ?? []).map((line) => {
          const parts = line.filter((p): p is string => typeof p === 'string');
          expect(parts, 'a metric line names namespace and metric').to.have.length.at.least(2);
          const [ns, name, ...dims] = parts;
          const pairs: string[] = [];
          for (let i = 0; i < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
          return [ns, name, ...pairs.sort()].join('|');
        }),
      );
    const key = (m: MetricRef) =>
      [m.Namespace, m.MetricName, ...(m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).sort()].join(
        '|',
      );

    it("shows every alarm's metric, and every alarm's state, on one screen", () => {
      const onScreen = shown();
      for (const a of alarms) {
        for (const m of metricsOf(a)) expect(onScreen, `${a.AlarmName}: ${key(m)}`).to.include(key(m));
      }
      const states = widgets.filter((w) => w.type === 'alarm').flatMap((w) => w.properties.alarms ?? []);
      expect(states).to.have.members(alarms.map((a) => ev.physical(a.logicalId).attrs.Arn));
    });

    it('fits one screen (24 columns, at most 24 rows of widgets) and shows the sweep-only metric too', () => {
      const body = JSON.parse(
        (ev.eval(ev.template.Resources.Dashboard!.Properties) as { DashboardBody: string }).DashboardBody,
      ) as { widgets: { x: number; y: number; width: number; height: number }[] };
      for (const w of body.widgets) expect(w.x + w.width).to.be.at.most(24);
      expect(Math.max(...body.widgets.map((w) => w.y + w.height))).to.be.at.most(24);
      expect(shown()).to.include(
        `${ev.params.MetricsNamespace}|UnsupportedLandingFiles|service=${SWEEP_SERVICE}`,
      );
    });
  });
});

describe('encryption and TLS in every template', () => {
  const files = [
    'storage.yml',
    'worker-service.yml',
    'observability.yml',
    'airflow.yml',
    'audit.yml',
    'bootstrap.yml',
    'operator.yml',
  ];

  it('encrypts every bucket, blocks public access, and denies plain-HTTP requests in its policy', async () => {
    let buckets = 0;
    for (const file of files) {
      const ev = new Evaluator(await loadInfra(file));
      const resources = Object.entries(ev.template.Resources);
      for (const [id, res] of resources.filter(([, r]) => r.Type === 'AWS::S3::Bucket')) {
        buckets++;
        const props = ev.eval(res.Properties) as Record<string, { [k: string]: unknown }>;
        expect(props.BucketEncryption, `${file} ${id}`).to.exist;
        expect(props.PublicAccessBlockConfiguration, `${file} ${id}`).to.deep.equal({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        const policy = resources.find(
          ([, r]) =>
            r.Type === 'AWS::S3::BucketPolicy' && (r.Properties?.Bucket as { Ref?: string }).Ref === id,
        );
        expect(policy, `${file} ${id} has a bucket policy`).to.exist;
        const statements = (policy![1].Properties!.PolicyDocument as { Statement: Record<string, unknown>[] })
          .Statement;
        expect(
          statements.some(
            (s) =>
              s.Effect === 'Deny' &&
              JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
          ),
          `${file} ${id} denies insecure transport`,
        ).to.be.true;
        for (const s of statements.filter((s) => s.Effect === 'Allow')) {
          expect(s.Principal, `${file} ${id}: an Allow for everyone`).not.to.equal('*');
        }
      }
    }
    expect(buckets, 'landing, synced, DAG source, trail log, deploy artifacts').to.equal(5);
  });

  it('encrypts every queue at rest and denies plain-HTTP requests to each, the dead-letter queue included', async () => {
    const ev = new Evaluator(await loadInfra('storage.yml'));
    const resources = Object.entries(ev.template.Resources);
    const queues = resources.filter(([, r]) => r.Type === 'AWS::SQS::Queue');
    expect(queues).to.have.length(2);
    for (const [id, q] of queues) {
      expect(q.Properties!.SqsManagedSseEnabled, id).to.equal(true);
      const policies = resources
        .filter(([, r]) => r.Type === 'AWS::SQS::QueuePolicy')
        .map(
          ([, r]) => ev.eval(r.Properties) as { Queues: string[]; PolicyDocument: { Statement: unknown[] } },
        )
        .filter((p) => p.Queues.includes(ev.physical(id).ref));
      const arn = ev.physical(id).attrs.Arn;
      expect(
        policies.flatMap((p) => p.PolicyDocument.Statement),
        `${id} denies insecure transport`,
      ).to.deep.include({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:*',
        Resource: arn,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });
});
