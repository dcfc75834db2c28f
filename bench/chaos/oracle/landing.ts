import type { LandingVerdict } from './archive-rule.ts';

/**
 * (v) Landing empty at the end: in `archived` mode nothing is left under landing/; in `archivable` mode
 * every landing file is one the DAG would archive now.
 */
export function landingProblems(
  mode: 'archived' | 'archivable',
  landing: readonly string[],
  verdicts: readonly LandingVerdict[],
): string[] {
  if (mode === 'archived') return landing.map((k) => `${k} is still in landing/`);
  return verdicts
    .filter((v) => !v.inLedger || v.verdict !== 'ready')
    .map((v) => `${v.key} is not archivable (${v.verdict})`);
}
