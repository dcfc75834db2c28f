import type { Manifest } from '../contract/manifest.ts';
import type { ProductStateEntry } from '../contract/product-state.ts';
import type { Logger } from '../logger.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogClient } from '../meta/types.ts';
import type { OpenSendFate } from '../state/send-gate.ts';
import type { ManifestStore } from './manifest-store.ts';

/**
 * Finds out where the open sends named by product-state entries stand, for the send gate: final (the
 * manifest has the batch's final status, or Meta says so now, or no call for it was ever started),
 * running (Meta still processing), or unrecorded (a call was started but its handle never recorded: it
 * may or may not have reached Meta; the manifest is missing counts the same). Asks
 * Meta directly for a running batch, so the answer does not depend on the worker that sent it being
 * alive; status reads use Meta's larger bucket, not the items_batch quota.
 */

export interface OpenSendDeps {
  manifests: ManifestStore;
  client: CatalogClient;
  logger: Logger;
  /** How long a send without a recorded handle may still be applied by Meta (from its decision time). */
  unsentSettleMs: number;
}

export function sendRef(entry: Pick<ProductStateEntry, 'manifestKey' | 'batchIndex'>): string {
  return `${entry.manifestKey}#${entry.batchIndex}`;
}

export async function resolveOpenSends(
  deps: OpenSendDeps,
  entries: Iterable<ProductStateEntry>,
  signal?: AbortSignal,
): Promise<Map<string, OpenSendFate>> {
  const byRef = new Map<string, ProductStateEntry>();
  for (const e of entries) {
    if (!e.open) continue;
    const ref = sendRef(e);
    const seen = byRef.get(ref);
    // The earliest decision of a send bounds when it could have reached Meta.
    if (!seen || e.decidedAt < seen.decidedAt) byRef.set(ref, e);
  }
  const manifests = new Map<string, Manifest | null>();
  const fates = new Map<string, OpenSendFate>();
  for (const [ref, e] of byRef) {
    if (!manifests.has(e.manifestKey))
      manifests.set(e.manifestKey, (await deps.manifests.read(e.manifestKey))?.value ?? null);
    const batch = manifests.get(e.manifestKey)?.batches[e.batchIndex];
    const unrecorded: OpenSendFate = { kind: 'unrecorded', settlesAt: e.decidedAt + deps.unsentSettleMs };
    // No call was ever started for it: nothing of it can be at Meta.
    if (batch?.status === 'unsent' && batch.attempts === 0) fates.set(ref, { kind: 'final' });
    else if (!batch || batch.status === 'unsent') fates.set(ref, unrecorded);
    else if (batch.status !== 'running') fates.set(ref, { kind: 'final' });
    else fates.set(ref, await askMeta(deps, batch.handle, signal));
  }
  return fates;
}

async function askMeta(deps: OpenSendDeps, handle: string, signal?: AbortSignal): Promise<OpenSendFate> {
  try {
    const status = await deps.client.checkBatchStatus(handle, { signal });
    return status.kind === 'running' ? { kind: 'running', handle } : { kind: 'final' };
  } catch (err) {
    // Auth failures must halt the worker: let them through. Anything else: still running as far as we know.
    if (err instanceof GraphApiError && (err.kind === 'auth' || err.kind === 'permission')) throw err;
    if (signal?.aborted) throw err;
    deps.logger.warn('could not read the status of an earlier batch; treating it as running', {
      handle,
      err,
    });
    return { kind: 'running', handle };
  }
}
