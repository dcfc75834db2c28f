import type { Logger } from '../../src/logger.ts';
import type { CatalogState } from './catalog.ts';
import type { FaultBox } from './faults.ts';
import type { SimulatorOptions } from './types.ts';

export const SIMULATOR_DEFAULTS = {
  host: '127.0.0.1',
  processingDelayMs: 1000,
  hourlyCallBudget: 200,
  statusReadBudget: 20_000,
  errorSampleSize: 20,
  maxBodyBytes: 28_000_000,
  maxRequests: 5000,
  budgetWindowMs: 3_600_000,
  lineBase: 0,
  titleMaxLength: 150,
  descriptionMaxLength: 5000,
  batchBucType: 'catalog_batch',
  statusBucType: 'catalog_management',
  callLogLimit: 10_000,
} as const;

/** The options with every default filled in; what the simulator's parts read. */
export function resolveOptions(options: SimulatorOptions) {
  return { ...SIMULATOR_DEFAULTS, ...stripUndefined(options) };
}
export type ResolvedOptions = ReturnType<typeof resolveOptions>;

/** What every part of one simulator shares: its options, its catalog state and faults, its clock and log. */
export interface SimContext {
  options: SimulatorOptions;
  o: ResolvedOptions;
  state: CatalogState;
  faults: FaultBox;
  now: () => number;
  log: Logger;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
