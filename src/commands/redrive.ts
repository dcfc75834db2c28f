import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerRedrive(program: Command): void {
  program
    .command('redrive')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('redrive is not implemented yet');
    });
}
