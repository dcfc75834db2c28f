import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root, found from this file's place: tools/local-aws/ → ../../ */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class LocalAwsError extends Error {
  override readonly name = 'LocalAwsError';
}

/** Asks the kernel for a free loopback port (bind to 0, read it back, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `probe` until it resolves true or the deadline passes. The one way tests and scripts wait. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new LocalAwsError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

export interface MotoServer {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export function motoBinary(): string {
  const bin = path.join(repoRoot, '.venv', 'bin', 'moto_server');
  if (!existsSync(bin)) {
    throw new LocalAwsError(`moto_server not found at ${bin}: run "make setup" (or scripts/setup.sh) first`);
  }
  return bin;
}

/**
 * Starts moto in server mode on a free loopback port and waits until it answers. The child dies with
 * its parent's stop(); `detached` is for the sandbox, which outlives the command that started it.
 */
export async function startMoto(options: { port?: number; detached?: boolean; logFile?: number } = {}) {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(motoBinary(), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', options.logFile ?? 'ignore', options.logFile ?? 'ignore'],
    detached: options.detached ?? false,
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(`moto server on ${endpoint}`, async () => {
    if (exited) throw new LocalAwsError(`moto_server exited at start (port ${port} taken?)`);
    const res = await fetch(`${endpoint}/moto-api/data.json`);
    return res.ok;
  });
  const server: MotoServer = {
    endpoint,
    port,
    pid: child.pid!,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
  if (options.detached) child.unref();
  return server;
}
