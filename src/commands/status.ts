import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('status is not implemented yet');
    });
}
