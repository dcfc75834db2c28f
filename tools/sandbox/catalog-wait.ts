import { readFile } from 'node:fs/promises';
import { waitFor } from '../local-aws/moto-server.ts';
import type { Simulator } from '../simulator/index.ts';

/** Expected ids of a sample file: the first column of every data row (a sandbox sanity check only). */
export async function idsIn(file: string): Promise<string[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => l.split(',')[0]!.trim());
}

export interface CatalogWait {
  sim: Simulator;
  catalogId: string;
  expected: string[];
  since: number;
  timeoutMs: number;
  workerLog: string;
  /** Throws when the sandbox was interrupted or the worker exited. */
  check(): void;
}

/**
 * Waits until the simulated catalog holds every expected id, showing progress: a live line on a terminal,
 * a line every 5 s in a log, so CI output stays readable.
 */
export async function waitForCatalog(w: CatalogWait): Promise<void> {
  let held = 0;
  const tty = process.stdout.isTTY;
  const ticker = setInterval(
    () => {
      const secs = ((Date.now() - w.since) / 1000).toFixed(0);
      const line = `      ${held}/${w.expected.length} products in the catalog after ${secs} s`;
      process.stdout.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    },
    tty ? 1000 : 5000,
  );
  try {
    await waitFor(
      `the worker to sync ${w.expected.length} products (see ${w.workerLog})`,
      async () => {
        w.check();
        const ids = new Set(w.sim.products(w.catalogId).map((p) => p.id));
        held = w.expected.filter((id) => ids.has(id)).length;
        return held === w.expected.length;
      },
      { timeoutMs: w.timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    w.check(); // an interruption is reported as such, not as a time-out
    throw err;
  } finally {
    clearInterval(ticker);
    if (tty) process.stdout.write('\r\x1b[K');
  }
}
