import type { ProductStateStore } from '../../src/state/product-state-store.ts';
import { newMeter, totalRequests, type CountingHandler, type Meter } from './counting-handler.ts';
import { flushOnce, type FlushStep } from './flush.ts';

/** One flush of `changed` products through `store`, counted by `handler` from a fresh meter. */
export async function measureFlush(
  store: ProductStateStore,
  changed: string[],
  handler: CountingHandler,
): Promise<{ meter: Meter; perStep: Partial<Record<FlushStep, number>>; seconds: number }> {
  handler.meter = newMeter();
  const t = Date.now();
  const perStep: Partial<Record<FlushStep, number>> = {};
  let before = 0;
  await flushOnce(store, changed, 2, (name) => {
    const total = totalRequests(handler.meter);
    perStep[name] = total - before;
    before = total;
  });
  return { meter: handler.meter, perStep, seconds: (Date.now() - t) / 1000 };
}
