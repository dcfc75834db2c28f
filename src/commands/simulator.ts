import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerSimulator(program: Command): void {
  program
    .command('simulator')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('simulator is not implemented yet');
    });
}
