import type { Command } from 'commander';

export function registerInfra(program: Command): void {
  program.command('infra').description('(not yet implemented)');
}
