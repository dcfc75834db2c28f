import { spawn, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../tools/local-aws/moto-server.ts';

/**
 * Worker processes (`bin/catalog-sync worker`) for chaos and the failpoint matrix: started in
 * generations, killed with SIGKILL or stopped with SIGTERM, their output kept (a tail in memory, all of
 * it in a log file when given). Waiting is by polling a condition with a deadline, never a fixed sleep.
 */

export const WORKER_BIN = path.join(repoRoot, 'bin', 'catalog-sync');

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  /** 1-based over the pool's life. */
  id: number;
  generation: number;
  child: ChildProcess;
  /** Logged "worker started". */
  started: boolean;
  exit: WorkerExit | null;
  exited: Promise<WorkerExit>;
  /** Failpoints reported hit on stderr (`failpoint <name> hit <n>`), in order. */
  failpointHits: string[];
  /** Last lines of output (stdout and stderr). */
  tail: string[];
  /** Environment added for this process only (failpoints). */
  extraEnv: Record<string, string>;
}

const TAIL = 400;

export class WorkerPool {
  readonly processes: WorkerProcess[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: WriteStream | undefined;
  private readonly bin: string;

  /** `bin`: another checkout's bin/catalog-sync, to run an older worker against the same oracle. */
  constructor(options: { env: NodeJS.ProcessEnv; log?: WriteStream; bin?: string }) {
    this.env = options.env;
    this.log = options.log;
    this.bin = options.bin ?? WORKER_BIN;
  }

  start(generation: number, extraEnv: Record<string, string> = {}): WorkerProcess {
    const id = this.processes.length + 1;
    const child = spawn(this.bin, ['worker'], {
      env: { ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p: WorkerProcess = {
      id,
      generation,
      child,
      started: false,
      exit: null,
      exited: new Promise<WorkerExit>((resolve) =>
        child.once('exit', (code, signal) => {
          p.exit = { code, signal };
          this.log?.write(`[w${id} g${generation}] --- exit code ${code} signal ${signal}\n`);
          resolve(p.exit);
        }),
      ),
      failpointHits: [],
      tail: [],
      extraEnv,
    };
    this.log?.write(`[w${id} g${generation}] --- start ${JSON.stringify(extraEnv)}\n`);
    const reader = () => {
      let partial = '';
      return (d: Buffer) => {
        const parts = (partial + d.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          if (line === '') continue;
          this.log?.write(`[w${id} g${generation}] ${line}\n`);
          p.tail.push(line);
          if (p.tail.length > TAIL) p.tail.splice(0, p.tail.length - TAIL);
          if (!p.started && line.includes('"worker started"')) p.started = true;
          const hit = /^failpoint ([a-z0-9.-]+) hit \d+/.exec(line);
          if (hit) p.failpointHits.push(hit[1]!);
        }
      };
    };
    child.stdout!.on('data', reader());
    child.stderr!.on('data', reader());
    this.processes.push(p);
    return p;
  }

  live(): WorkerProcess[] {
    return this.processes.filter((p) => p.exit === null);
  }

  /** Sends a signal and waits for the exit (SIGKILL after `forceAfterMs` if it has not exited). */
  async stop(p: WorkerProcess, signal: NodeJS.Signals, forceAfterMs = 30_000): Promise<WorkerExit> {
    if (p.exit) return p.exit;
    p.child.kill(signal);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), forceAfterMs);
    try {
      return await p.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async stopAll(signal: NodeJS.Signals = 'SIGTERM', forceAfterMs = 30_000): Promise<void> {
    await Promise.all(this.live().map((p) => this.stop(p, signal, forceAfterMs)));
  }
}

/** Polls `probe` every `intervalMs` until it is true; throws after `timeoutMs` naming `what`. */
export async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs = 100 }: { timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until every process started (or one exited: then throws with its tail). */
export async function waitStarted(ps: readonly WorkerProcess[], timeoutMs = 30_000): Promise<void> {
  await until(
    `worker(s) ${ps.map((p) => p.id).join(', ')} started`,
    () => {
      const dead = ps.find((p) => p.exit !== null && !p.started);
      if (dead) {
        throw new Error(
          `worker ${dead.id} exited before it started (${JSON.stringify(dead.exit)}):\n${dead.tail.slice(-20).join('\n')}`,
        );
      }
      return ps.every((p) => p.started);
    },
    { timeoutMs, intervalMs: 50 },
  );
}
