import type { HeldInfo, Manifest } from '../contract/manifest.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { StateSnapshot } from '../state/product-state-store.ts';
import { covers } from '../worker/manifest.ts';
import type { ManifestStore } from '../worker/manifest-store.ts';
import type { Versioned } from '../shared/s3-json.ts';
import type { WindowSource } from '../worker/window-buffer.ts';
import { changeFacts, type JudgedValues } from './facts.ts';
import type { GuardrailHistory } from './history-store.ts';
import type { GuardrailLimits, GuardrailVerdict } from './guardrail-types.ts';
import { evaluateGuardrails } from './rules.ts';

/**
 * What the flush asks before a window is sent (src/worker/flush.ts): the window's change set, checked
 * against the rules (rules.ts) with the known catalog size and the recent file sizes (history-store.ts).
 * A tripped rule holds the window: the flush writes its manifest as `held` with the rules and their
 * evidence, and its payloads, and sends nothing.
 */

export type GuardrailConfig = Pick<
  Config,
  | 'guardrailsEnabled'
  | 'guardrailMinKnownProducts'
  | 'guardrailMaxChangedPct'
  | 'guardrailPriceDropPct'
  | 'guardrailMaxPriceDropItemsPct'
  | 'guardrailMinItems'
  | 'guardrailNearZeroPrice'
  | 'guardrailMaxNearZeroItems'
  | 'guardrailMaxOutOfStockPct'
  | 'guardrailFileSizeRatio'
  | 'guardrailFileSizeHistory'
>;

export const GUARDRAIL_CONFIG_KEYS = [
  'guardrailsEnabled',
  'guardrailMinKnownProducts',
  'guardrailMaxChangedPct',
  'guardrailPriceDropPct',
  'guardrailMaxPriceDropItemsPct',
  'guardrailMinItems',
  'guardrailNearZeroPrice',
  'guardrailMaxNearZeroItems',
  'guardrailMaxOutOfStockPct',
  'guardrailFileSizeRatio',
  'guardrailFileSizeHistory',
] as const satisfies readonly (keyof GuardrailConfig)[];

export function limitsOf(c: GuardrailConfig): GuardrailLimits {
  return {
    minKnownProducts: c.guardrailMinKnownProducts,
    maxChangedPct: c.guardrailMaxChangedPct,
    priceDropPct: c.guardrailPriceDropPct,
    maxPriceDropItemsPct: c.guardrailMaxPriceDropItemsPct,
    minItems: c.guardrailMinItems,
    nearZeroPrice: c.guardrailNearZeroPrice,
    maxNearZeroItems: c.guardrailMaxNearZeroItems,
    maxOutOfStockPct: c.guardrailMaxOutOfStockPct,
    fileSizeRatio: c.guardrailFileSizeRatio,
    fileSizeHistory: c.guardrailFileSizeHistory,
  };
}

/** A product about to be sent: an item, or a window's index entry of one (no item in memory). */
export type SendCandidate = JudgedValues;

export interface WindowCheckInput {
  toSend: readonly SendCandidate[];
  snapshot: Pick<StateSnapshot, 'get'>;
  sources: readonly WindowSource[];
  now: number;
}

export interface WindowGuard {
  /** The hold to record, or null when the window may be sent. */
  check(input: WindowCheckInput): Promise<HeldInfo | null>;
  /** After a window was sent (or had nothing to send): its new products and files join the history. */
  afterSend(input: Pick<WindowCheckInput, 'toSend' | 'snapshot' | 'sources'>): Promise<void>;
}

/** The pure part, shared with `plan`: the verdict for a change set against the anchors. */
export function judgeWindow(
  input: Pick<WindowCheckInput, 'toSend' | 'snapshot' | 'sources'>,
  anchors: { knownProducts: number; recentFileRows: readonly number[] },
  limits: GuardrailLimits,
): GuardrailVerdict {
  return evaluateGuardrails(
    {
      knownProducts: anchors.knownProducts,
      changes: input.toSend.map((c) => changeFacts(c.id, c, input.snapshot.get(c.id))),
      files: input.sources
        .filter((s) => s.fileError === null)
        .map((s) => ({ key: s.key, rows: s.rows.total })),
      recentFileRows: anchors.recentFileRows,
    },
    limits,
  );
}

export function createWindowGuard(options: {
  history: GuardrailHistory;
  config: GuardrailConfig;
  logger: Logger;
}): WindowGuard {
  const limits = limitsOf(options.config);
  return {
    async check(input) {
      if (!options.config.guardrailsEnabled || input.toSend.length === 0) return null;
      const doc = await options.history.load();
      const verdict = judgeWindow(
        input,
        { knownProducts: doc.knownProducts, recentFileRows: doc.files.map((f) => f.rows) },
        limits,
      );
      if (!verdict.held) return null;
      return {
        at: new Date(input.now).toISOString(),
        rules: verdict.tripped,
        knownProducts: doc.knownProducts,
      };
    },
    async afterSend(input) {
      const newProducts = input.toSend.filter((c) => input.snapshot.get(c.id) === undefined).length;
      const files = input.sources
        .filter((s) => s.fileError === null)
        .map((s) => ({ key: s.key, rows: s.rows.total }));
      try {
        await options.history.recordSent(newProducts, files);
      } catch (err) {
        options.logger.warn(
          'could not record the window in the guardrail history; the next window counts again',
          {
            err,
          },
        );
      }
    },
  };
}

/**
 * A held manifest of the same window covering every one of these files: the same files came again (an
 * SQS redelivery after a crash between the manifest write and the delete), and the hold is recorded.
 */
export async function findHeldCovering(
  manifests: ManifestStore,
  folder: string,
  sources: readonly WindowSource[],
): Promise<{ key: string; manifest: Versioned<Manifest> } | null> {
  for (const key of await manifests.list(folder)) {
    const got = await manifests.read(key);
    if (got?.value.state === 'held' && sources.every((s) => covers(got.value, s)))
      return { key, manifest: got };
  }
  return null;
}
