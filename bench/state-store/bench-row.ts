import { requestsOf, totalRequests, type Meter } from './counting-handler.ts';
import type { FlushStep } from './flush.ts';

/** One line of the state-store bench: one store, one catalog size, one flush of `changed` products. */
export interface StateBenchRow extends Record<string, string | number | boolean> {
  store: string;
  catalog: number;
  seeded: number;
  changed: number;
  requests: number;
  reads: number;
  writes: number;
  otherRequests: number;
  readStep: number;
  decideStep: number;
  settleStep: number;
  perStepTarget: number;
  requestTargetMet: boolean;
  mbSent: number;
  mbReceived: number;
  mbMoved: number;
  seconds: number;
}

export type StoreKind = 's3' | 'dynamodb';

/** The operations that read and write product state, per store. */
const READ_OPS: Record<StoreKind, string[]> = { s3: ['GET OBJECT'], dynamodb: ['BatchGetItem'] };
const WRITE_OPS: Record<StoreKind, string[]> = { s3: ['PUT OBJECT'], dynamodb: ['TransactWriteItems'] };

export function stateBenchRow(measured: {
  kind: StoreKind;
  catalog: number;
  seeded: number;
  changed: number;
  meter: Meter;
  perStep: Partial<Record<FlushStep, number>>;
  seconds: number;
}): StateBenchRow {
  const { kind, meter: m, perStep } = measured;
  const reads = requestsOf(m, READ_OPS[kind]);
  const writes = requestsOf(m, WRITE_OPS[kind]);
  const requests = totalRequests(m);
  // Each step (read, decide, settle) of K products: at most ceil(K / 100) requests (100 keys or items
  // a request) plus a constant (the scope's fence). The S3 store has no such bound: each step reads or
  // writes every shard the products fall in (all 256 for K = 5000), whatever their size.
  const perStepTarget = Math.ceil(measured.changed / 100) + 2;
  const mb = (b: number) => Math.round(b / 1e4) / 100;
  return {
    store: kind,
    catalog: measured.catalog,
    seeded: measured.seeded,
    changed: measured.changed,
    requests,
    reads,
    writes,
    otherRequests: requests - reads - writes,
    readStep: perStep.read ?? 0,
    decideStep: perStep.decide ?? 0,
    settleStep: perStep.settle ?? 0,
    perStepTarget,
    requestTargetMet: Math.max(perStep.read ?? 0, perStep.decide ?? 0, perStep.settle ?? 0) <= perStepTarget,
    mbSent: mb(m.sent),
    mbReceived: mb(m.received),
    mbMoved: mb(m.sent + m.received),
    seconds: Math.round(measured.seconds * 10) / 10,
  };
}
