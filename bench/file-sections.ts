import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/local-aws/moto-server.ts';
import { generateCatalog } from './generate-catalog.ts';

/** The benchmark's generated CSV files, and section 1: the file path measured in fresh processes. */

export type Row = Record<string, string | number | boolean>;

const run = promisify(execFile);
const tmpDir = path.join(repoRoot, 'bench', 'tmp');

export async function fileFor(rows: number, variant = 0): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  const file = path.join(tmpDir, `catalog-${rows}-v${variant}.csv`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${file}\n`);
    await generateCatalog(file, rows, variant);
  }
  return file;
}

/**
 * Both sides run with the flags bin/catalog-sync gives the worker in a 512 MiB task (the size the memory
 * targets are set for): an 8 MB nursery and the old generation capped at 40 % of the task.
 */
const WORKER_FLAGS = ['--max-semi-space-size=8', `--max-old-space-size=${Math.floor((512 * 40) / 100)}`];

async function measure(mode: 'raw' | 'pipeline', file: string): Promise<Row> {
  const script = path.join(repoRoot, 'bench', 'file-path.ts');
  const { stdout } = await run(process.execPath, [...WORKER_FLAGS, script, mode, file], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as Row;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * 1. The file path, each size measured in fresh processes: fast-csv alone, then our whole pipeline, as
 * `pairs` back-to-back pairs. On a shared 2-core machine one pair's ratio moves by ±20 % with what else
 * runs, so the ratio reported is the median of the pairs' ratios, with the lowest and highest beside it.
 */
export async function benchFilePath(sizes: number[], pairsFor: (rows: number) => number): Promise<Row[]> {
  const out: Row[] = [];
  for (const rows of sizes) {
    const file = await fileFor(rows);
    const pairs: { raw: Row; pipe: Row; ratio: number }[] = [];
    for (let k = 0; k < pairsFor(rows); k++) {
      const raw = await measure('raw', file);
      const pipe = await measure('pipeline', file);
      pairs.push({ raw, pipe, ratio: (pipe.rowsPerSecond as number) / (raw.rowsPerSecond as number) });
      process.stderr.write(`file path ${rows}, pair ${k + 1}: ratio ${round2(pairs.at(-1)!.ratio)}\n`);
    }
    const ratios = pairs.map((p) => p.ratio);
    const ratio = round2(median(ratios));
    const pipePeak = Math.max(...pairs.map((p) => p.pipe.peakRssMb as number));
    const rssTarget = rows <= 100_000 ? 300 : 450;
    const row: Row = {
      rows,
      pairs: pairs.length,
      rawRowsPerSecond: Math.round(median(pairs.map((p) => p.raw.rowsPerSecond as number))),
      pipelineRowsPerSecond: Math.round(median(pairs.map((p) => p.pipe.rowsPerSecond as number))),
      ratio,
      ratioLowest: round2(Math.min(...ratios)),
      ratioHighest: round2(Math.max(...ratios)),
      ratioTargetMet: ratio >= 0.6,
      rawPeakRssMb: Math.max(...pairs.map((p) => p.raw.peakRssMb as number)),
      pipelinePeakRssMb: pipePeak,
      rssTargetMb: rssTarget,
      rssTargetMet: pipePeak <= rssTarget,
      chunks: pairs[0]!.pipe.chunks!,
      payloadMb: pairs[0]!.pipe.payloadMb!,
    };
    process.stderr.write(`file path ${rows}: ${JSON.stringify(row)}\n`);
    out.push(row);
  }
  return out;
}
