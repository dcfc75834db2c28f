import type { SimulatorFaults } from '../../tools/simulator/index.ts';

/**
 * The simulator faults a chaos round switches on, by slug, and the deck rounds draw them from. A combo
 * is one or more slugs applied together in one round (`error-some+reorder`).
 */

/** How long the `reorder` fault holds a batch; the workers' send gate settles after it (worker-env.ts). */
export const REORDER_HOLD_MS = 3000;

interface Fault {
  name: string;
  faults: (seed: number) => SimulatorFaults;
}

export const FAULTS: Record<string, Fault> = {
  none: { name: 'none', faults: () => ({}) },
  code2: { name: 'code 2 at 30%', faults: (s) => ({ code2Rate: 0.3, seed: s }) },
  '5xx': { name: '5xx at 30%', faults: (s) => ({ serverErrorRate: 0.3, seed: s }) },
  eta0: { name: '80014 with ETA 0 (twice)', faults: () => ({ throttle: { etaMinutes: 0, times: 2 } }) },
  slow: { name: 'slow answers (400 ms)', faults: () => ({ latencyMs: 400 }) },
  'error-none': {
    name: 'batch error, nothing applied (30%)',
    faults: (s) => ({ batchError: { rate: 0.3 }, seed: s }),
  },
  'error-some': {
    name: 'batch error after applying some, some ids listed (50%)',
    faults: (s) => ({ batchError: { rate: 0.5, apply: 'some', listInvalid: 'some' }, seed: s }),
  },
  'error-all': {
    name: 'batch error after applying all (50%)',
    faults: (s) => ({ batchError: { rate: 0.5, apply: 'all' }, seed: s }),
  },
  reorder: {
    name: `out-of-order processing (50% of batches held up to ${REORDER_HOLD_MS} ms)`,
    faults: (s) => ({ reorderBatches: { holdMs: REORDER_HOLD_MS, random: true, rate: 0.5 }, seed: s }),
  },
  token: { name: 'invalid token', faults: () => ({ invalidToken: { subcode: 463 } }) },
};

/**
 * The deck: rounds take combos in turn; the default deck (empty `spec`) is every slug, shuffled with
 * `random`, reshuffled per pass. `spec` is comma-separated combos of `+`-joined slugs; an unknown slug throws.
 */
export function makeDeck(spec: string, random: () => number): () => string[] {
  if (spec.trim() !== '') {
    const combos = spec.split(',').map((c) => c.split('+').map((s) => s.trim()));
    for (const slug of combos.flat()) {
      if (!FAULTS[slug])
        throw new Error(`--faults: unknown fault "${slug}" (known: ${Object.keys(FAULTS).join(', ')})`);
    }
    let i = 0;
    return () => combos[i++ % combos.length]!;
  }
  let pile: string[] = [];
  return () => {
    if (pile.length === 0) {
      pile = Object.keys(FAULTS);
      for (let i = pile.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pile[i], pile[j]] = [pile[j]!, pile[i]!];
      }
    }
    return [pile.shift()!];
  };
}

/** The simulator faults of a combo, all seeded alike. */
export function comboFaults(combo: readonly string[], seed: number): SimulatorFaults {
  return Object.assign({}, ...combo.map((slug) => FAULTS[slug]!.faults(seed)));
}

/** The combo's faults by name, for the round's line. */
export function comboName(combo: readonly string[]): string {
  return combo.map((s) => FAULTS[s]!.name).join(' + ');
}
