import { expect } from 'chai';
import { VARS } from '../../src/config.ts';
import { Evaluator, loadInfra } from './support/cfn-eval.ts';

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
