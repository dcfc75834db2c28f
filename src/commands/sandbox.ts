import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('sandbox is not implemented yet');
    });
}
