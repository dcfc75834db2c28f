import { mulberry32 } from './prng.ts';
import type { BatchErrorFault, InjectedError, ReorderFault, SimEndpoint, SimulatorFaults } from './types.ts';

export class FaultError extends Error {
  override readonly name = 'FaultError';
}

const rate = (v: unknown, name: string): void => {
  if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) {
    throw new FaultError(`${name} must be a number between 0 and 1`);
  }
};
const nonNegative = (v: unknown, name: string): void => {
  if (v !== undefined && (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))) {
    throw new FaultError(`${name} must be a number ≥ 0`);
  }
};
const toggle = (v: unknown, name: string, extra: string[]): void => {
  if (v === undefined || typeof v === 'boolean') return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FaultError(`${name} must be true, false or an object`);
  }
  for (const [k, x] of Object.entries(v)) {
    if (!['times', ...extra].includes(k)) throw new FaultError(`${name}.${k} is not a known option`);
    nonNegative(x, `${name}.${k}`);
  }
};

const KNOWN = [
  'throttle',
  'statusThrottle',
  'serverErrorRate',
  'serverErrorStatus',
  'code2Rate',
  'latencyMs',
  'invalidToken',
  'rejectIdPattern',
  'batchErrorRate',
  'batchError',
  'reorderBatches',
  'errors',
  'seed',
];

/** Checks faults from any source (options, admin API, CLI); returns a private deep copy. */
export function validateFaults(input: unknown): SimulatorFaults {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new FaultError('faults must be a JSON object');
  const f = input as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    if (!KNOWN.includes(k)) throw new FaultError(`unknown fault "${k}" (known: ${KNOWN.join(', ')})`);
  }
  toggle(f.throttle, 'throttle', ['etaMinutes']);
  toggle(f.statusThrottle, 'statusThrottle', ['etaMinutes']);
  toggle(f.invalidToken, 'invalidToken', ['subcode']);
  rate(f.serverErrorRate, 'serverErrorRate');
  rate(f.code2Rate, 'code2Rate');
  rate(f.batchErrorRate, 'batchErrorRate');
  validateBatchError(f.batchError);
  validateReorder(f.reorderBatches);
  nonNegative(f.latencyMs, 'latencyMs');
  nonNegative(f.seed, 'seed');
  if (f.serverErrorStatus !== undefined) {
    const s = f.serverErrorStatus;
    if (typeof s !== 'number' || s < 500 || s > 599)
      throw new FaultError('serverErrorStatus must be 500–599');
  }
  if (f.rejectIdPattern !== undefined) {
    if (typeof f.rejectIdPattern !== 'string') throw new FaultError('rejectIdPattern must be a string');
    try {
      new RegExp(f.rejectIdPattern);
    } catch (err) {
      throw new FaultError(`rejectIdPattern is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (f.errors !== undefined) {
    if (!Array.isArray(f.errors)) throw new FaultError('errors must be an array');
    f.errors.forEach((e: unknown, i) => {
      if (typeof e !== 'object' || e === null) throw new FaultError(`errors[${i}] must be an object`);
      const o = e as Record<string, unknown>;
      if (typeof o.code !== 'number' || !Number.isInteger(o.code))
        throw new FaultError(`errors[${i}].code must be an integer`);
      if (
        o.endpoint !== undefined &&
        !['items_batch', 'check_batch_request_status', 'catalog', 'any'].includes(o.endpoint as string)
      ) {
        throw new FaultError(
          `errors[${i}].endpoint must be items_batch, check_batch_request_status, catalog or any`,
        );
      }
      rate(o.rate, `errors[${i}].rate`);
      nonNegative(o.times, `errors[${i}].times`);
      nonNegative(o.etaMinutes, `errors[${i}].etaMinutes`);
    });
  }
  return structuredClone(f) as SimulatorFaults;
}

const SHARES = ['none', 'some', 'all'];

function validateBatchError(v: unknown): void {
  if (v === undefined || typeof v === 'boolean') return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FaultError('batchError must be true, false or an object');
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['rate', 'times', 'apply', 'listInvalid'].includes(k)) {
      throw new FaultError(`batchError.${k} is not a known option`);
    }
  }
  rate(o.rate, 'batchError.rate');
  nonNegative(o.times, 'batchError.times');
  for (const k of ['apply', 'listInvalid']) {
    if (o[k] !== undefined && !SHARES.includes(o[k] as string)) {
      throw new FaultError(`batchError.${k} must be one of ${SHARES.join(', ')}`);
    }
  }
}

function validateReorder(v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FaultError('reorderBatches must be an object with holdMs');
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['holdMs', 'random', 'rate', 'times'].includes(k)) {
      throw new FaultError(`reorderBatches.${k} is not a known option`);
    }
  }
  if (o.holdMs === undefined) throw new FaultError('reorderBatches.holdMs is required');
  nonNegative(o.holdMs, 'reorderBatches.holdMs');
  if (o.random !== undefined && typeof o.random !== 'boolean') {
    throw new FaultError('reorderBatches.random must be a boolean');
  }
  rate(o.rate, 'reorderBatches.rate');
  nonNegative(o.times, 'reorderBatches.times');
}

/** What the batchError fault decided for one batch: per item, applied before the error, and listed invalid. */
export interface BatchFailure {
  apply: boolean[];
  list: boolean[];
}

/** The live faults: answers "does this call fail, and how", consuming `times` and drawing from the PRNG. */
export class FaultBox {
  private f: SimulatorFaults = {};
  private rand: () => number = mulberry32(1);

  constructor(initial?: SimulatorFaults) {
    this.set(initial ?? {});
  }

  /** Replaces the faults; the PRNG restarts from `seed` (default 1). */
  set(faults: unknown): void {
    this.f = validateFaults(faults);
    this.rand = mulberry32(this.f.seed ?? 1);
  }

  get(): SimulatorFaults {
    return structuredClone(this.f);
  }

  latencyMs(): number {
    return this.f.latencyMs ?? 0;
  }

  private take<T extends { times?: number }>(v: boolean | T | undefined): T | null {
    if (!v) return null;
    if (v === true) return {} as T;
    if (v.times === undefined) return v;
    if (v.times <= 0) return null;
    v.times--;
    return v;
  }

  private draw(r: number | undefined): boolean {
    return r !== undefined && r > 0 && this.rand() < r;
  }

  invalidToken(): { subcode: number } | null {
    const t = this.take(this.f.invalidToken);
    return t ? { subcode: t.subcode ?? 463 } : null;
  }

  /** A bare 5xx status, or null. */
  serverError(): number | null {
    return this.draw(this.f.serverErrorRate) ? (this.f.serverErrorStatus ?? 503) : null;
  }

  code2(): boolean {
    return this.draw(this.f.code2Rate);
  }

  injected(endpoint: SimEndpoint): InjectedError | null {
    for (const e of this.f.errors ?? []) {
      if (e.endpoint && e.endpoint !== 'any' && e.endpoint !== endpoint) continue;
      if (e.times !== undefined) {
        if (e.times <= 0) continue;
        if (e.rate !== undefined && !this.draw(e.rate)) continue;
        e.times--;
        return { ...e };
      }
      if (e.rate !== undefined) {
        if (this.draw(e.rate)) return { ...e };
        continue;
      }
      return { ...e };
    }
    return null;
  }

  /** The forced throttle of this endpoint (80014 for items_batch, 80009 for status reads), or null. */
  throttle(endpoint: SimEndpoint): { etaMinutes: number } | null {
    const t = this.take(endpoint === 'items_batch' ? this.f.throttle : this.f.statusThrottle);
    return t ? { etaMinutes: t.etaMinutes ?? 1 } : null;
  }

  rejectsId(id: string | null): boolean {
    return id !== null && this.f.rejectIdPattern !== undefined && new RegExp(this.f.rejectIdPattern).test(id);
  }

  /**
   * Whether a new batch of `items` items ends in `error` (batchError, or the batchErrorRate shorthand),
   * and if so which items it applies first and which unapplied ones it names as invalid. Null: it does not.
   */
  batchFailure(items: number): BatchFailure | null {
    let spec: BatchErrorFault | null = null;
    const f = this.f.batchError;
    if (f) {
      const o: BatchErrorFault = f === true ? {} : f;
      const spent = o.times !== undefined && o.times <= 0;
      if (!spent && (o.rate === undefined || this.draw(o.rate))) {
        if (o.times !== undefined) o.times--;
        spec = o;
      }
    }
    if (!spec && this.draw(this.f.batchErrorRate)) spec = {};
    if (!spec) return null;
    const apply = this.share(spec.apply ?? 'none', items);
    const unapplied = apply.flatMap((a, i) => (a ? [] : [i]));
    const listed = this.share(spec.listInvalid ?? 'none', unapplied.length);
    const list = apply.map(() => false);
    unapplied.forEach((i, k) => (list[i] = listed[k]!));
    return { apply, list };
  }

  /** none → all false; all → all true; some → a random proper subset when n ≥ 2 (one item: a coin). */
  private share(how: 'none' | 'some' | 'all', n: number): boolean[] {
    if (how !== 'some') return Array.from({ length: n }, () => how === 'all');
    const picks = Array.from({ length: n }, () => this.rand() < 0.5);
    if (n >= 2 && picks.every((p) => p === picks[0])) {
      const i = Math.floor(this.rand() * n);
      picks[i] = !picks[i];
    }
    return picks;
  }

  /** Extra processing time of a new batch (the reorderBatches fault); 0 when it is not held. */
  reorderHoldMs(): number {
    const o: ReorderFault | undefined = this.f.reorderBatches;
    if (!o || o.holdMs <= 0) return 0;
    if (o.times !== undefined && o.times <= 0) return 0;
    if (o.rate !== undefined && !this.draw(o.rate)) return 0;
    if (o.times !== undefined) o.times--;
    return o.random ? Math.round(this.rand() * o.holdMs) : o.holdMs;
  }
}
