import type { Command } from 'commander';

// Placeholder: filled in by its issue. Registered so that --help lists every sub-command.
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('(not yet implemented)')
    .action(() => {
      throw new Error('validate is not implemented yet');
    });
}
