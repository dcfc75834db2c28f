import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The sandbox's drop folder: a file that appears in it is uploaded to the landing prefix once it is
 * complete, then moved to `uploaded/` beside it (a failed upload is tried again on the next look, and
 * reported once). Complete means: its size and modification time have not changed for `stableMs`, so a
 * file still being copied in is left alone. Hidden files and the usual partial-download names are ignored.
 */

export interface DropFolderOptions {
  dir: string;
  /** Uploads one file; returns the line to print (e.g. its key). */
  upload(file: string, name: string): Promise<string>;
  onLine(line: string): void;
  stableMs?: number;
  pollMs?: number;
}

export interface DropFolder {
  dir: string;
  uploadedDir: string;
  /** One look at the folder (the timer calls it; tests may too). */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

const PARTIAL = /(\.part|\.partial|\.crdownload|\.download|\.tmp|~)$/i;

export function isCandidate(name: string): boolean {
  return !name.startsWith('.') && !PARTIAL.test(name);
}

export async function startDropFolder(o: DropFolderOptions): Promise<DropFolder> {
  const stableMs = o.stableMs ?? 1000;
  const uploadedDir = path.join(o.dir, 'uploaded');
  await mkdir(uploadedDir, { recursive: true });
  const seen = new Map<string, { size: number; mtimeMs: number; since: number; failed?: string }>();
  let running: Promise<void> | undefined;
  let stopped = false;

  const scanOnce = async () => {
    const now = Date.now();
    const entries = await readdir(o.dir, { withFileTypes: true });
    const present = new Set<string>();
    for (const e of entries) {
      if (!e.isFile() || !isCandidate(e.name)) continue;
      present.add(e.name);
      const file = path.join(o.dir, e.name);
      const s = await stat(file).catch(() => null);
      if (!s) continue;
      const last = seen.get(e.name);
      if (!last || last.size !== s.size || last.mtimeMs !== s.mtimeMs) {
        seen.set(e.name, { size: s.size, mtimeMs: s.mtimeMs, since: now, failed: last?.failed });
        continue;
      }
      if (now - last.since < stableMs) continue;
      try {
        const line = await o.upload(file, e.name);
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        await rename(file, path.join(uploadedDir, `${stamp}-${e.name}`));
        seen.delete(e.name);
        o.onLine(line);
      } catch (err) {
        const why = (err as Error).message;
        if (last.failed !== why) o.onLine(`drop folder: could not upload ${e.name}: ${why} (will retry)`);
        last.failed = why;
      }
    }
    for (const name of seen.keys()) if (!present.has(name)) seen.delete(name);
  };

  const scan = async () => {
    // One look at a time: the timer and a caller never upload the same file twice.
    while (running) await running;
    running = scanOnce().finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) scan().catch((err: unknown) => o.onLine(`drop folder: ${(err as Error).message}`));
  }, o.pollMs ?? 500);

  return {
    dir: o.dir,
    uploadedDir,
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}
