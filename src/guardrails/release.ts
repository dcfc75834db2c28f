import type { Manifest } from '../contract/manifest.ts';
import type { Logger } from '../logger.ts';
import type { ManifestStore } from '../worker/manifest-store.ts';
import { resendUnknown, type ResendDeps } from '../worker/resend.ts';
import type { Versioned } from '../shared/s3-json.ts';

/**
 * The worker's side of `catalog-sync release` (the `catalog-sync.release` message): a held manifest is
 * sent as it is. It becomes `submitted` with who released it, then its batches go through the send gate
 * under the catalog lease exactly as a resend of items that never reached Meta does (resend.ts): each
 * item is sent only while its source is still the newest known for its product, so a newer row sent while
 * the window was held always wins (the item is recorded as superseded). The status poller then follows
 * the batches to Meta's final word, as for any flush.
 *
 * Idempotent: a message delivered again finds the manifest submitted with `released` set, and the resend
 * skips batches already sent. A manifest discarded meanwhile is left alone.
 */

export type ReleaseOutcome =
  | { kind: 'released'; manifest: Versioned<Manifest> }
  | { kind: 'not-held'; state: string }
  | { kind: 'missing' };

export interface ReleaseRequest {
  key: string;
  by: string;
  requestedAt: string;
}

export async function releaseHeld(
  deps: ResendDeps & { manifests: ManifestStore; logger: Logger; now: () => number },
  req: ReleaseRequest,
  signal: AbortSignal,
): Promise<ReleaseOutcome> {
  const got = await deps.manifests.read(req.key);
  if (!got) return { kind: 'missing' };
  const log = deps.logger.child({ manifestId: got.value.manifestId, window: got.value.window });
  let current = got;
  if (got.value.state === 'held') {
    const at = new Date(deps.now()).toISOString();
    current = await deps.manifests.update(req.key, got, (m) =>
      m.state === 'held'
        ? {
            ...m,
            state: 'submitted',
            submittedAt: at,
            released: { by: req.by, requestedAt: req.requestedAt, at },
          }
        : null,
    );
  }
  if (current.value.state !== 'submitted' || !current.value.released) {
    return { kind: 'not-held', state: current.value.state };
  }
  log.warn('held window released: sending it through the send gate', {
    alert: 'window-released',
    stage: 'released',
    manifestKey: req.key,
    by: current.value.released.by,
  });
  const sent = await resendUnknown(deps, req.key, signal);
  return { kind: 'released', manifest: sent };
}
