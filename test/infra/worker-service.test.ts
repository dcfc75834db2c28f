import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';
import { VARS } from '../../src/config.ts';
import { Evaluator, INFRA, loadInfra } from './support/cfn-eval.ts';

interface Container {
  Environment: { Name: string; Value: string }[];
  Secrets: { Name: string; ValueFrom: string }[];
  StopTimeout: number;
  ReadonlyRootFilesystem: boolean;
  Command: string[];
}

/** The task definition against the worker's configuration table (src/config.ts), so the two cannot drift. */
describe('worker task definition (infra/worker-service.yml)', () => {
  let container: Container;
  const specs = Object.values(VARS) as { env: string; default?: string; secret?: boolean }[];

  before(async () => {
    const ev = new Evaluator(await loadInfra('worker-service.yml'));
    container = (
      ev.eval(ev.template.Resources.WorkerTaskDefinition!.Properties) as { ContainerDefinitions: Container[] }
    ).ContainerDefinitions[0]!;
  });

  it('sets every required variable, and only variables the worker reads', () => {
    const set = [...container.Environment.map((e) => e.Name), ...container.Secrets.map((s) => s.Name)];
    for (const spec of specs.filter((s) => s.default === undefined))
      expect(set, spec.env).to.include(spec.env);
    for (const name of set)
      expect(
        specs.map((s) => s.env),
        name,
      ).to.include(name);
  });

  it('passes secrets only through Secrets Manager, never as plain environment values', () => {
    const secret = specs.filter((s) => s.secret).map((s) => s.env);
    for (const e of container.Environment) expect(secret, e.Name).not.to.include(e.Name);
    for (const s of container.Secrets) expect(secret, s.Name).to.include(s.Name);
  });

  it('gives the worker time to flush or release held messages before ECS kills it', () => {
    const grace = Number(
      container.Environment.find((e) => e.Name === 'SHUTDOWN_GRACE_MS')?.Value ??
        VARS.shutdownGraceMs.default,
    );
    expect(grace).to.be.below(container.StopTimeout * 1000);
    expect(container.StopTimeout).to.be.at.most(120);
  });

  it('runs the worker sub-command on a read-only root filesystem', () => {
    expect(container.Command).to.deep.equal(['worker']);
    expect(container.ReadonlyRootFilesystem).to.equal(true);
  });
});

describe('worker service: queue settings, scaling and size (infra/worker-service.yml)', () => {
  let ev: Evaluator;
  let raw: string;
  let env: { Name: string; Value: unknown }[];

  before(async () => {
    ev = new Evaluator(await loadInfra('worker-service.yml'));
    raw = await readFile(path.join(INFRA, 'worker-service.yml'), 'utf8');
    env = (
      ev.template.Resources.WorkerTaskDefinition!.Properties as {
        ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[];
      }
    ).ContainerDefinitions[0]!.Environment;
  });

  it("takes VISIBILITY_TIMEOUT_S and MAX_RECEIVE_COUNT from the storage stack's exports, the queue's own values", async () => {
    const imported = (name: string) => env.find((e) => e.Name === name)?.Value;
    expect(imported(VARS.maxReceiveCount.env)).to.deep.equal({
      'Fn::ImportValue': { 'Fn::Sub': '${StorageStackName}-MaxReceiveCount' },
    });
    expect(imported(VARS.visibilityTimeoutS.env)).to.deep.equal({
      'Fn::ImportValue': { 'Fn::Sub': '${StorageStackName}-VisibilityTimeout' },
    });
    // ...which infra/storage.yml sets from the same parameters it gives the queue.
    const storage = await loadInfra('storage.yml');
    const queue = storage.Resources.EventQueue!.Properties as {
      VisibilityTimeout: unknown;
      RedrivePolicy: { maxReceiveCount: unknown };
    };
    expect(storage.Outputs!.MaxReceiveCount!.Value).to.deep.equal(queue.RedrivePolicy.maxReceiveCount);
    expect(storage.Outputs!.VisibilityTimeout!.Value).to.deep.equal(queue.VisibilityTimeout);
    // And the worker's own defaults agree with the queue's, for runs without the task definition.
    expect(String(storage.Parameters!.MaxReceiveCount!.Default)).to.equal(VARS.maxReceiveCount.default);
    expect(String(storage.Parameters!.QueueVisibilityTimeout!.Default)).to.equal(
      VARS.visibilityTimeoutS.default,
    );
  });

  it('runs more than one task, scaling on queue depth, replacing tasks with overlap on deploy', () => {
    const maxTasks = Number(ev.params.MaxTasks);
    expect(maxTasks).to.be.at.least(2);
    const target = ev.eval(ev.template.Resources.WorkerScalableTarget!.Properties) as Record<string, unknown>;
    expect(target).to.include({ MinCapacity: ev.params.MinTasks, MaxCapacity: ev.params.MaxTasks });
    const service = ev.eval(ev.template.Resources.WorkerService!.Properties) as {
      DeploymentConfiguration: Record<string, unknown>;
    };
    expect(service.DeploymentConfiguration).to.include({ MinimumHealthyPercent: 100, MaximumPercent: 200 });
    const alarms = Object.values(ev.template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.map((a) => (a.Properties as { MetricName: string }).MetricName)).to.deep.equal([
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
    ]);
    // The call history travels with the catalog lease: one budget for all tasks, within the smallest quota.
    expect(Number(ev.params.WorkerHourlyCallBudget)).to.be.at.most(200);
  });

  it('says nowhere in infra/ or serverless.yml to run a single task', async () => {
    const files = [
      ...(await readdir(INFRA)).filter((f) => f.endsWith('.yml')).map((f) => path.join(INFRA, f)),
      path.join(repoRoot, 'serverless.yml'),
    ];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.to.match(
        /keep at 1\b|run (only )?one (worker )?task|one task only|maxTasks: '1'/i,
      );
    }
  });

  it('gives the task the memory the benchmark measured, with headroom, and says where the figure came from', async () => {
    // The real worker process on a 1M-row file (bench section 5), in the task size and heap share it ran with.
    const bench = await readFile(path.join(repoRoot, 'bench', 'results', 'latest.md'), 'utf8');
    const header = bench.split('\n').find((l) => l.includes('workerPeakRssMb'))!;
    const columns = header.split('|').map((c) => c.trim());
    const row = bench
      .split('\n')
      .map((l) => l.split('|').map((c) => c.trim()))
      .find((cells) => cells[1] === '1000000' && cells.length === columns.length)!;
    const cell = (name: string) => Number(/\d+/.exec(row[columns.indexOf(name)]!)![0]);
    const peakMib = cell('workerPeakRssMb');
    const heapCapMib = (cell('taskMemoryMib') * cell('heapPercent')) / 100;
    expect(peakMib).to.be.greaterThan(heapCapMib);
    const memoryMib = Number(ev.params.WorkerMemory);
    const cpu = Number(ev.params.WorkerCpu);
    expect(memoryMib, 'at least 50% headroom over the 1M run').to.be.at.least(peakMib * 1.5);
    // The largest file the worker accepts (FILE_MAX_PRODUCTS), modelled from the 1M run: the heap may
    // fill to its cap (40 % of this task), beside what was outside the heap at 1M, of which the index
    // (~83 B a product) grows with the file.
    const indexMibPerMillion = 83e6 / 2 ** 20;
    const outsideHeapAt1M = peakMib - heapCapMib;
    const maxProducts = Number(VARS.maxFileProducts.default);
    const largest = memoryMib * 0.4 + outsideHeapAt1M + indexMibPerMillion * (maxProducts / 1e6 - 1);
    expect(memoryMib, 'the largest accepted file, +40%').to.be.at.least(largest * 1.4);
    // Fargate's valid combinations for the chosen CPU.
    const fargate: Record<number, [number, number]> = {
      256: [512, 2048],
      512: [1024, 4096],
      1024: [2048, 8192],
      2048: [4096, 16384],
      4096: [8192, 30720],
    };
    const [lo, hi] = fargate[cpu]!;
    expect(memoryMib).to.be.within(lo, hi);
    expect(raw).to.include('bench/results/latest.md');
    expect(raw).to.include('420 MiB at 1M').and.to.include('FILE_MAX_PRODUCTS');
  });
});
