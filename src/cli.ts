import { Command, CommanderError } from 'commander';
import { registerDiscard } from './commands/discard.ts';
import { registerPlan } from './commands/plan.ts';
import { registerPut } from './commands/put.ts';
import { registerRedrive } from './commands/redrive.ts';
import { registerRelease } from './commands/release.ts';
import { registerState } from './commands/state.ts';
import { registerStatus } from './commands/status.ts';
import { registerValidate } from './commands/validate.ts';
import { registerWorker } from './commands/worker.ts';
import { ConfigError } from './config.ts';
import { loadDevCommands, type RegisterCommands } from './dev-commands.ts';

/**
 * Builds the program; separate from running it so tests can drive it with arguments. `extra` adds
 * commands after the runtime ones: the development commands when the tools tree is present.
 */
export function buildProgram(extra: readonly RegisterCommands[] = []): Command {
  const program = new Command('catalog-sync')
    .description(
      'Keeps a Meta commerce catalog in step with CSV exports landing in S3. S3 ObjectCreated events reach ' +
        "an SQS queue; the worker batches them per UTC hour, sends them with Meta's items_batch API and " +
        'follows each batch until Meta says it finished.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerWorker(program);
  registerValidate(program);
  registerPlan(program);
  registerPut(program);
  registerStatus(program);
  registerRedrive(program);
  registerRelease(program);
  registerDiscard(program);
  registerState(program);
  for (const register of extra) register(program);
  program.addHelpText(
    'after',
    '\nConfiguration comes from environment variables; see .env.example for every one and its default.',
  );
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const dev = await loadDevCommands();
    await buildProgram(dev ? [dev] : []).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError) {
      console.error(`catalog-sync: ${err.message}\nSee .env.example for every variable and its default.`);
      process.exitCode = 2;
      return;
    }
    console.error(`catalog-sync: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
