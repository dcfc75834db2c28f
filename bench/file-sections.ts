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

async function measure(mode: 'raw' | 'pipeline', file: string): Promise<Row> {
  const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bench', 'file-path.ts'), mode, file], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as Row;
}

/** 1. The file path, each size measured in fresh processes: fast-csv alone, then our whole pipeline. */
export async function benchFilePath(sizes: number[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const rows of sizes) {
    const file = await fileFor(rows);
    const rawResult = await measure('raw', file);
    const pipe = await measure('pipeline', file);
    const ratio =
      Math.round(((pipe.rowsPerSecond as number) / (rawResult.rowsPerSecond as number)) * 100) / 100;
    const rssTarget = rows <= 100_000 ? 300 : 450;
    const row: Row = {
      rows,
      rawRowsPerSecond: rawResult.rowsPerSecond!,
      pipelineRowsPerSecond: pipe.rowsPerSecond!,
      ratio,
      ratioTargetMet: ratio >= 0.6,
      rawPeakRssMb: rawResult.peakRssMb!,
      pipelinePeakRssMb: pipe.peakRssMb!,
      rssTargetMb: rssTarget,
      rssTargetMet: (pipe.peakRssMb as number) <= rssTarget,
      chunks: pipe.chunks!,
      payloadMb: pipe.payloadMb!,
    };
    process.stderr.write(`file path ${rows}: ${JSON.stringify(row)}\n`);
    out.push(row);
  }
  return out;
}
