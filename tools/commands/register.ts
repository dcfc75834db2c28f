import type { Command } from 'commander';
import { registerInfra } from './infra.ts';
import { registerSandbox } from './sandbox.ts';
import { registerSimulator } from './simulator.ts';

/**
 * The development commands, found by src/dev-commands.ts when the tools tree is present (a checkout,
 * not the worker image): the catalog simulator, the local sandbox and local AWS provisioning.
 */
export function registerDevCommands(program: Command): void {
  registerSimulator(program);
  registerSandbox(program);
  registerInfra(program);
}
