import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('worker is not implemented yet');
    });
}
