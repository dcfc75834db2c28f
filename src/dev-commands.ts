import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';

/** Adds commands to the program; the shape of every `register*` function under src/commands and tools/commands. */
export type RegisterCommands = (program: Command) => void;

/**
 * The development commands' registry (sandbox, simulator, infra). It lives in the tools tree, which a
 * repository checkout has and the worker image does not (the Dockerfile copies src/ only), so the runtime
 * never imports it statically: src/ must not depend on tools/.
 */
export const DEV_REGISTRY_URL = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'tools', 'commands', 'register.ts'),
).href;

/**
 * Loads the registry's `registerDevCommands`, or undefined when the registry file itself is absent (a
 * runtime tree). Any other failure, including a module the registry imports being absent, is a broken
 * checkout and surfaces.
 */
export async function loadDevCommands(
  registryUrl: string = DEV_REGISTRY_URL,
): Promise<RegisterCommands | undefined> {
  let registry: { registerDevCommands?: unknown };
  try {
    registry = (await import(registryUrl)) as { registerDevCommands?: unknown };
  } catch (err) {
    if (isMissing(err, registryUrl)) return undefined;
    throw err;
  }
  if (typeof registry.registerDevCommands !== 'function') {
    throw new TypeError(`${fileURLToPath(registryUrl)} does not export a function registerDevCommands`);
  }
  return registry.registerDevCommands as RegisterCommands;
}

function isMissing(err: unknown, url: string): boolean {
  const e = err as { code?: unknown; url?: unknown } | null;
  return e !== null && typeof e === 'object' && e.code === 'ERR_MODULE_NOT_FOUND' && e.url === url;
}
