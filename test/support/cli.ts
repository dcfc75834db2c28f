import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

/** Runs `bin/catalog-sync` as a user would, with the given environment; never throws on a non-zero exit. */

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const cliPath = path.join(repoRoot, 'bin', 'catalog-sync');

export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cliPath, args, { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
