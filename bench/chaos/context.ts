import type { ChaosOptions } from './options.ts';
import type { ChaosRig } from './rig.ts';

/** What a chaos run did and saw, for its summary. */
export interface Tally {
  uploads: number;
  lostEvents: number;
  redelivered: number;
  sigkills: number;
  deploys: number;
  /** The newest worker generation (1-based). */
  generations: number;
  /** Rounds per fault combo label (`error-some+reorder`). */
  faults: Map<string, number>;
  oracleChecks: number;
  oracleFailures: number;
  /** Problems the between-round oracle reported, and how often: each is printed the first time only. */
  problemsSeen: Map<string, number>;
}

export function newTally(): Tally {
  return {
    uploads: 0,
    lostEvents: 0,
    redelivered: 0,
    sigkills: 0,
    deploys: 0,
    generations: 1,
    faults: new Map(),
    oracleChecks: 0,
    oracleFailures: 0,
    problemsSeen: new Map(),
  };
}

/**
 * What every step of a chaos run is given. `random` is the run's one seeded source: the steps draw from
 * it in a fixed order, so a seed replays the same run.
 */
export interface ChaosContext {
  rig: ChaosRig;
  options: ChaosOptions;
  random: () => number;
  tally: Tally;
  say: (line: string) => void;
}

export function pick<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
