import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../local-aws/moto-server.ts';

/** The sandbox's worker: `bin/catalog-sync worker` as a child process, its output appended to a log file. */
export interface SandboxWorker {
  child: ChildProcess;
  log: string;
  /** The exit code once it exited (1 for a signal), else null. */
  exitCode(): number | null;
  /** SIGTERM (the worker flushes or releases first) and waits for the exit. */
  stop(): Promise<void>;
}

export function startSandboxWorker(env: NodeJS.ProcessEnv, logDir: string): SandboxWorker {
  const log = path.join(logDir, 'worker.log');
  const logStream = createWriteStream(log, { flags: 'a' });
  const child = spawn(path.join(repoRoot, 'bin', 'catalog-sync'), ['worker'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(logStream);
  child.stderr!.pipe(logStream);
  let exit: number | null = null;
  child.once('exit', (code) => (exit = code ?? 1));
  return {
    child,
    log,
    exitCode: () => exit,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
