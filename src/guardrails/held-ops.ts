import type { BatchPayload, Manifest } from '../contract/manifest.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { OpsError } from '../ops/errors.ts';
import { loadManifest, type StatusStore } from '../ops/status-report.ts';
import { contentHash } from '../state/product-state.ts';
import type { ProductStateStore } from '../state/product-state-store.ts';
import { judge } from '../state/send-gate.ts';
import { sweepMessageErrors } from '../worker/json-schemas.ts';
import { ManifestStore } from '../worker/manifest-store.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { stampOf } from '../worker/resend.ts';

/**
 * The operator's side of a held window (`catalog-sync release` and `discard`). Release only asks: it
 * enqueues a `catalog-sync.release` message, and the worker sends the batches (only the worker talks to
 * Meta). Discard needs no Meta: it rewrites the manifest `held` → `discarded` with a conditional write, so
 * a release the worker is taking up at the same moment and a discard cannot both win. Both say what they
 * would do with --dry-run, and both record who (the caller passes the operator's name).
 */

export interface HeldManifest {
  key: string;
  manifest: Versioned<Manifest>;
}

/** The manifest by key or id (searched in `hours`), which must be held. */
export async function loadHeld(
  store: StatusStore,
  keyOrId: string,
  hours: readonly string[],
  verb: 'release' | 'discard',
): Promise<HeldManifest> {
  const { key } = await loadManifest(store, keyOrId, hours);
  const got = await new ManifestStore({ s3: store.s3, bucket: store.bucket }).read(key);
  if (!got) throw new OpsError(`manifest s3://${store.bucket}/${key} does not exist`, { key });
  const m = got.value;
  if (m.state !== 'held') {
    const extra =
      m.state === 'discarded' && m.discarded
        ? ` (discarded by ${m.discarded.by} at ${m.discarded.at}: ${m.discarded.reason})`
        : m.released
          ? ` (released by ${m.released.by} at ${m.released.at})`
          : '';
    throw new OpsError(
      `manifest ${key} is ${m.state}${extra}, not held: only a held window can be ${verb}d ` +
        `(catalog-sync status --manifest ${m.manifestId} shows it)`,
      { key, state: m.state },
    );
  }
  return { key, manifest: got };
}

export interface ReleasePlan {
  key: string;
  manifestId: string;
  rules: string[];
  /** Items that would be sent, per held batch, and the calls that takes (one per batch with items). */
  send: { batch: number; ids: string[] }[];
  calls: number;
  /** Items a newer send overtook: not sent, recorded as superseded. */
  superseded: { id: string; by: string }[];
  /** Items identical to what Meta accepted last: not sent, recorded as superseded. */
  unchanged: string[];
  /** Items with an earlier send still open: the worker waits for it, then judges again. */
  waiting: string[];
}

/** What `release` would send now, judged as the worker's resend judges it (the send gate, resend mode). */
export async function planRelease(
  loc: { s3: S3Client; bucket: string; state: ProductStateStore },
  held: HeldManifest,
  now: number,
): Promise<ReleasePlan> {
  const m = held.manifest.value;
  const manifests = new ManifestStore({ s3: loc.s3, bucket: loc.bucket });
  const state = loc.state;
  const out: ReleasePlan = {
    key: held.key,
    manifestId: m.manifestId,
    rules: (m.held?.rules ?? []).map((r) => r.message),
    send: [],
    calls: 0,
    superseded: [],
    unchanged: [],
    waiting: [],
  };
  for (const batch of m.batches) {
    if (batch.status !== 'unsent') continue;
    const payload: BatchPayload = await manifests.readPayload(batch.payloadKey);
    const snapshot = await state.read(payload.origins.map((o) => o.id));
    const ids: string[] = [];
    payload.requests.forEach((r, i) => {
      const origin = payload.origins[i] ?? { id: String(r.data.id), key: '', line: 0 };
      const entry = snapshot.get(origin.id);
      const verdict = judge(
        { hash: contentHash(r.data), stamp: stampOf(m, origin) },
        { entry, fate: entry?.open ? { kind: 'final' } : undefined, now, resend: true },
      );
      if (entry?.open) out.waiting.push(origin.id);
      if (verdict.kind === 'send' || verdict.kind === 'wait') ids.push(origin.id);
      else if (verdict.kind === 'older')
        out.superseded.push({ id: origin.id, by: entry?.manifestKey ?? 'unknown' });
      else out.unchanged.push(origin.id);
    });
    if (ids.length > 0) out.send.push({ batch: batch.index, ids });
  }
  out.calls = out.send.length;
  return out;
}

/** Enqueues the release; the worker sends the manifest and records who released it. */
export async function requestRelease(
  sqs: SQSClient,
  queueUrl: string,
  held: HeldManifest,
  by: string,
  now: number,
): Promise<{ messageId: string; message: Record<string, unknown> }> {
  const message = {
    kind: 'catalog-sync.release',
    version: 1,
    manifestKey: held.key,
    by,
    sentAt: new Date(now).toISOString(),
  };
  const why = sweepMessageErrors(message);
  if (why !== null)
    throw new OpsError(`the release message does not match sweep-message.schema.json: ${why}`);
  const sent = await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
  );
  return { messageId: sent.MessageId ?? '', message };
}

/** held → discarded, conditionally; fails when the manifest changed meanwhile (a release taken up first). */
export async function discardHeld(
  s3: S3Client,
  bucket: string,
  held: HeldManifest,
  by: string,
  reason: string,
  now: number,
): Promise<Versioned<Manifest>> {
  const manifests = new ManifestStore({ s3, bucket, now: () => now });
  const at = new Date(now).toISOString();
  const done = await manifests.update(held.key, held.manifest, (m) =>
    m.state === 'held' ? { ...m, state: 'discarded', finishedAt: at, discarded: { by, reason, at } } : null,
  );
  if (done.value.state !== 'discarded') {
    throw new OpsError(
      `manifest ${held.key} became ${done.value.state} meanwhile (a release was taken up first): not discarded`,
      { key: held.key, state: done.value.state },
    );
  }
  return done;
}
