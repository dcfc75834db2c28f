import { randomBytes } from 'node:crypto';
import type { ProductStateStore } from '../../src/state/product-state-store.ts';
import type { StateUpdate } from '../../src/state/send-gate.ts';
import { entryFor } from './seed.ts';

export type FlushStep = 'read' | 'decide' | 'settle';

const MANIFEST_KEY = 'synced/manifests/2026-11-25T13/bench.json';

/**
 * The state I/O of one flush of `changed` products, as the worker does it (src/worker/flush.ts and
 * status-poller.ts): read(K) for the gate, merge(K `decided`, snapshot, lease token) before items_batch,
 * merge(K `settled`) once the batch is final. `step` is called after each of the three.
 */
export async function flushOnce(
  store: ProductStateStore,
  changed: string[],
  token: number,
  step: (name: FlushStep) => void,
): Promise<void> {
  const snapshot = await store.read(changed);
  step('read');
  const at = Date.now();
  const decided = new Map<string, StateUpdate>(
    changed.map((id, i) => [
      id,
      {
        kind: 'decided',
        entry: {
          ...(snapshot.get(id) ?? entryFor(id, i)),
          contentHash: randomBytes(16).toString('hex'),
          sourceTime: at,
          sourceKey: 'landing/2026/11/25/bench.csv',
          manifestKey: MANIFEST_KEY,
          batchIndex: Math.floor(i / 5000),
          decidedAt: at,
          open: true,
        },
      },
    ]),
  );
  await store.merge(decided, snapshot, token);
  step('decide');
  const settled = new Map<string, StateUpdate>(
    changed.map((id, i) => [
      id,
      { kind: 'settled', manifestKey: MANIFEST_KEY, batch: Math.floor(i / 5000), accepted: true },
    ]),
  );
  await store.merge(settled);
  step('settle');
}
