import type { Command } from 'commander';
import { envFor, localAwsDown, localAwsUp, readLocalAwsState } from '../local-aws/local-aws.ts';
import { deployTemplate, localClients } from '../local-aws/provision.ts';

const progress = (line: string) => process.stderr.write(`[infra] ${line}\n`);

function printStack(outputs: Record<string, string>, endpoint: string, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ endpoint, outputs, env: envFor(endpoint, outputs) }, null, 2)}\n`,
    );
    return;
  }
  const width = Math.max(...Object.keys(outputs).map((k) => k.length));
  process.stdout.write(`endpoint  ${endpoint}\n`);
  for (const [k, v] of Object.entries(outputs)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  process.stdout.write('\nTo point the CLI at it:\n');
  for (const [k, v] of Object.entries(envFor(endpoint, outputs)))
    process.stdout.write(`  export ${k}=${v}\n`);
}

export function registerInfra(program: Command): void {
  const infra = program
    .command('infra')
    .description('local AWS (moto server) with the production template deployed: up, down, status, deploy');

  infra
    .command('up')
    .description(
      'start a moto server on a free loopback port (unless one started by `up` is running) and deploy infra/storage.yml',
    )
    .option('--stage <name>', 'stage name, part of every bucket and queue name', 'local')
    .option('--port <n>', 'port for moto (default: a free one)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print endpoint, stack outputs and env as JSON')
    .action(async (opts: { stage: string; port?: number; json?: boolean }) => {
      const state = await localAwsUp({ stage: opts.stage, port: opts.port, onProgress: progress });
      printStack(state.outputs, state.endpoint, Boolean(opts.json));
    });

  infra
    .command('down')
    .description('stop the moto server that `infra up` started (its data is in memory and goes with it)')
    .action(async () => {
      await localAwsDown(progress);
    });

  infra
    .command('status')
    .description('show the running local AWS, if any')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const state = await readLocalAwsState();
      if (!state) {
        progress('no local AWS is running (start one with: catalog-sync infra up)');
        process.exitCode = 1;
        return;
      }
      printStack(state.outputs, state.endpoint, Boolean(opts.json));
    });

  infra
    .command('deploy')
    .description(
      'deploy infra/storage.yml into an AWS-compatible endpoint you run yourself (e.g. a moto server)',
    )
    .requiredOption('--endpoint <url>', 'endpoint URL, e.g. http://127.0.0.1:5000')
    .option('--stage <name>', 'stage name, part of every bucket and queue name', 'local')
    .option('--json', 'print endpoint, stack outputs and env as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  catalog-sync infra deploy --endpoint http://127.0.0.1:5000 --stage test1 --json',
    )
    .action(async (opts: { endpoint: string; stage: string; json?: boolean }) => {
      const result = await deployTemplate({
        clients: localClients(opts.endpoint),
        stackName: `catalog-sync-${opts.stage}`,
        parameters: { Stage: opts.stage },
        onProgress: opts.json ? () => {} : progress,
      });
      printStack(result.outputs, opts.endpoint, Boolean(opts.json));
    });
}
