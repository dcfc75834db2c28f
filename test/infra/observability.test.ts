import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../src/aws/moto-server.ts';
import { VARS } from '../../src/config.ts';
import { METRICS, WORKER_SERVICE } from '../../src/metrics.ts';
import { Evaluator, loadInfra, STORAGE_EXPORTS } from './support/cfn-eval.ts';

interface MetricRef {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: string }[];
}
interface Alarm extends Partial<MetricRef> {
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

describe('alarms and metrics (infra/observability.yml)', () => {
  let ev: Evaluator;
  let alarms: Alarm[];
  let topic: string;

  before(async () => {
    ev = new Evaluator(await loadInfra('observability.yml'));
    alarms = Object.values(ev.template.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => ev.eval(r.Properties) as Alarm);
    topic = ev.physical('AlarmTopic').ref;
  });

  const worker = (a: Alarm): MetricRef[] =>
    [a as MetricRef, ...(a.Metrics ?? []).map((m) => m.MetricStat?.Metric)].filter(
      (m): m is MetricRef => m?.Namespace === ev.params.MetricsNamespace,
    );

  it('select only metrics the worker emits, under the namespace and service dimension it uses', async () => {
    const used = alarms.flatMap(worker);
    expect(used.length).to.be.greaterThan(0);
    for (const m of used) {
      expect(Object.keys(METRICS), m.MetricName).to.include(m.MetricName);
      expect(m.Dimensions).to.deep.equal([{ Name: 'service', Value: WORKER_SERVICE }]);
    }
    expect(ev.params.MetricsNamespace).to.equal(VARS.metricsNamespace.default);

    const service = new Evaluator(await loadInfra('worker-service.yml'));
    const env = (
      service.eval(service.template.Resources.WorkerTaskDefinition!.Properties) as {
        ContainerDefinitions: { Environment: { Name: string; Value: string }[] }[];
      }
    ).ContainerDefinitions[0]!.Environment;
    expect(env).to.deep.include({ Name: 'METRICS_NAMESPACE', Value: service.params.MetricsNamespace });
  });

  it('alarm when the dead-letter queue holds any message', () => {
    const dlq = alarms.find(
      (a) =>
        a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        a.Dimensions?.[0]?.Value === queueName(STORAGE_EXPORTS.DeadLetterQueueArn!),
    );
    expect(dlq, 'DLQ depth alarm').to.include({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('alarm when the oldest event on the queue is older than the threshold', () => {
    const age = alarms.find(
      (a) =>
        a.MetricName === 'ApproximateAgeOfOldestMessage' &&
        a.Dimensions?.[0]?.Value === queueName(STORAGE_EXPORTS.QueueArn!),
    );
    expect(age, 'oldest message age alarm').to.include({
      Threshold: ev.params.OldestMessageAgeSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(Number(ev.params.OldestMessageAgeSeconds)).to.be.below(3600);
  });

  it('alarm on the share of items Meta rejected and of rows the CSV check rejected', () => {
    const ratio = (part: string, other: string) =>
      alarms.find((a) => {
        const names = worker(a).map((m) => m.MetricName);
        return names.includes(part) && names.includes(other);
      });
    for (const alarm of [ratio('ItemsRejected', 'ItemsAccepted'), ratio('RowsRejected', 'RowsValid')]) {
      expect(alarm, 'ratio alarm').to.exist;
      const expression = alarm!.Metrics!.find((m) => m.Expression)!.Expression!;
      expect(expression).to.match(/100 \* FILL\(rejected, 0\) \/ \(FILL\(\w+, 0\) \+ FILL\(rejected, 0\)\)/);
      expect(alarm!.Threshold).to.equal(ev.params.RejectionRatioPercent);
    }
  });

  it('alarm when no window finished for N hours, also when the worker publishes nothing at all', () => {
    const noSync = alarms.find((a) => a.MetricName === 'SyncSucceeded');
    const hours = ev.params.NoSyncHours;
    expect(noSync).to.include({
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: hours,
      DatapointsToAlarm: hours,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarm when Meta refuses the token', () => {
    expect(alarms.find((a) => a.MetricName === 'AuthFailures')).to.include({
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
});

describe('encryption and TLS in every template', () => {
  const files = [
    'storage.yml',
    'worker-service.yml',
    'observability.yml',
    'airflow.yml',
    'audit.yml',
    'bootstrap.yml',
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

  it('encrypts every queue at rest', async () => {
    const ev = new Evaluator(await loadInfra('storage.yml'));
    const queues = Object.values(ev.template.Resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    expect(queues).to.have.length(2);
    for (const q of queues) expect(q.Properties!.SqsManagedSseEnabled).to.equal(true);
  });
});
