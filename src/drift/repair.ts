import { driftReportKey, manifestKey, payloadKey } from '../contract/layout.ts';
import type { Manifest } from '../contract/manifest.ts';
import type { ProductStateEntry, SourceStamp } from '../contract/product-state.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { withLastValues } from '../guardrails/facts.ts';
import type { GuardrailHistory } from '../guardrails/history-store.ts';
import { GraphApiError } from '../meta/graph-error.ts';
import type { CatalogItem } from '../meta/types.ts';
import type { ServiceMetrics } from '../metrics.ts';
import type { CatalogLease, HeldLease } from '../state/catalog-lease.ts';
import { contentHash } from '../state/product-state.ts';
import type { StateUpdate } from '../state/send-gate.ts';
import { SubmissionHaltedError } from '../worker/errors.ts';
import { markAttempted, planSendChunks, recordAccepted } from '../worker/flush.ts';
import { gateUnderLease, type GateDeps } from '../worker/gated-send.ts';
import { newManifestId } from '../worker/manifest.ts';
import type { Versioned } from '../shared/s3-json.ts';
import { windowOf } from '../shared/hours.ts';
import type { Findings } from './inspect.ts';
import { latestDriftReport, writeDriftReport, type DriftItem, type DriftReport } from './report.ts';

/**
 * The second half of a drift check, under the catalog lease and after the flushes already queued in this
 * worker (the worker runs it in its flush chain): send stale and missing items again, delete orphans when
 * configured, write the report.
 *
 * Sending again is a resend: each item goes with the source stamp of its last send, through the send gate
 * (resend mode), so a newer row sent since the check read the state always wins (the item is `superseded`)
 * and an item with a send still open waits for it. The items go in one new manifest (`driftReport` names
 * the report, no sources: it covers no landing file), whose batches are followed to Meta's final status
 * like any flush. Only as many items_batch calls are made as the hourly budget has left above
 * DRIFT_BUDGET_RESERVE; the rest is `deferred` to the next check.
 *
 * Orphans are deleted (items_batch DELETE) only with DRIFT_DELETE_ORPHANS, at most DRIFT_DELETE_MAX a
 * check, and only those the previous report already listed as orphans (that report was the dry run of
 * their deletion), and only if the product state still does not know them under the lease.
 */

export interface RepairDeps extends GateDeps {
  lease: CatalogLease;
  syncedPrefix: string;
  bucket: string;
  catalogId: string;
  batchMaxItems: number;
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  fields: readonly string[];
  budgetReserve: number;
  deleteOrphans: boolean;
  deleteMax: number;
  history?: GuardrailHistory | undefined;
  metrics?: ServiceMetrics | undefined;
  s3: S3Client;
}

export interface DriftOutcome {
  reportKey: string;
  report: DriftReport;
  repair: { key: string; manifest: Versioned<Manifest> } | null;
}

interface Candidate {
  item: CatalogItem;
  stamp: SourceStamp;
  entry: ProductStateEntry;
}

export async function repairAndReport(
  deps: RepairDeps,
  findings: Findings,
  options: { dryRun: boolean },
  signal: AbortSignal,
): Promise<DriftOutcome> {
  const reportKey = driftReportKey(deps.syncedPrefix, findings.startedAt);
  const calls = { ...findings.calls, itemsBatch: 0, deletes: 0 };
  const items = findings.items.map((i) => ({ ...i }));
  const byId = new Map(items.map((i) => [i.id, i]));
  let repair: DriftOutcome['repair'] = null;
  const deletions: DriftReport['deletions'] = [];
  const previous = await latestDriftReport({
    s3: deps.s3,
    bucket: deps.bucket,
    syncedPrefix: deps.syncedPrefix,
  });
  const announced = new Set(
    (previous?.report.items ?? []).filter((i) => i.class === 'orphan').map((i) => i.id),
  );

  const lease = await deps.lease.acquire(signal);
  try {
    const sig = AbortSignal.any([signal, lease.signal]);
    // Stale and missing items, with the stamp of their last send.
    const candidates = new Map<string, Candidate>();
    for (const i of items) {
      if (i.class !== 'stale' && i.class !== 'missing') continue;
      const item = findings.lastSent.get(i.id);
      const entry = findings.entries.get(i.id);
      if (!item || !entry) continue;
      const stamp: SourceStamp = {
        sourceTime: entry.sourceTime,
        sourceKey: entry.sourceKey,
        sequencer: entry.sequencer,
        etag: entry.etag ?? null,
        ...(entry.version !== undefined && entry.version !== null ? { version: entry.version } : {}),
      };
      candidates.set(i.id, { item, stamp, entry });
    }
    let allowance = Math.max(0, deps.client.budgetRemaining() - deps.budgetReserve);
    if (candidates.size > 0) {
      const gated = new Map(
        [...candidates].map(([id, c]) => [id, { hash: contentHash(c.item), stamp: c.stamp }]),
      );
      const { snapshot, verdicts } = await gateUnderLease(deps, gated, { resend: true }, lease, sig);
      const toSend: Candidate[] = [];
      for (const [id, c] of candidates) {
        if (verdicts.get(id)?.kind === 'send') toSend.push(c);
        else byId.get(id)!.action = 'superseded';
      }
      const chunks = planSendChunks(deps.client, deps, toSend);
      const now = chunks.slice(0, options.dryRun ? chunks.length : allowance);
      for (const c of chunks.slice(now.length).flat()) {
        Object.assign(byId.get(c.item.id)!, {
          action: 'deferred',
          why: `the hourly call budget has ${allowance} call(s) left above DRIFT_BUDGET_RESERVE (${deps.budgetReserve})`,
        });
      }
      if (options.dryRun) {
        for (const c of now.flat()) byId.get(c.item.id)!.action = 'would-resend';
      } else if (now.length > 0) {
        repair = await sendRepair(deps, lease, now, snapshot, reportKey, sig, calls);
        allowance -= now.length;
        for (const c of now.flat()) byId.get(c.item.id)!.action = 'resent';
      }
    }

    // Orphans.
    const orphans = items.filter((i) => i.class === 'orphan');
    if (!deps.deleteOrphans) for (const o of orphans) o.action = 'reported';
    else {
      const due = orphans.filter((o) => announced.has(o.id));
      for (const o of orphans) if (!announced.has(o.id)) o.action = 'would-delete';
      // Known to the state now (sent since the check): not an orphan after all.
      const snap = due.length > 0 ? await deps.state.read(due.map((o) => o.id)) : null;
      const deletable: DriftItem[] = [];
      for (const o of due) {
        if (snap?.get(o.id)) {
          o.action = 'none';
          o.why = 'sent since the check read the state';
        } else if (options.dryRun) o.action = 'would-delete';
        else if (deletable.length >= deps.deleteMax) {
          o.action = 'deferred';
          o.why = `DRIFT_DELETE_MAX (${deps.deleteMax}) orphans deleted in this check`;
        } else deletable.push(o);
      }
      for (let i = 0; i < deletable.length; i += deps.batchMaxItems) {
        const group = deletable.slice(i, i + deps.batchMaxItems);
        if (allowance <= 0 || !deps.client.deleteItems) {
          for (const o of group) {
            o.action = 'deferred';
            o.why = deps.client.deleteItems
              ? 'no call budget left in this hour'
              : 'this client cannot delete';
          }
          continue;
        }
        await lease.ensure(deps.requestTimeoutMs);
        let accepted;
        try {
          accepted = await deps.client.deleteItems(
            group.map((o) => o.id),
            { signal: sig },
          );
        } catch (err) {
          if (err instanceof GraphApiError && (err.kind === 'auth' || err.kind === 'permission'))
            throw new SubmissionHaltedError(err);
          throw err;
        }
        calls.deletes++;
        allowance--;
        deletions.push({ handle: accepted.handle, ids: group.map((o) => o.id) });
        for (const o of group) o.action = 'deleted';
      }
    }
  } finally {
    await lease.release();
  }

  const count = (c: DriftItem['class']) => items.filter((i) => i.class === c).length;
  const report: DriftReport = {
    schemaVersion: 1,
    kind: 'drift',
    catalogId: deps.catalogId,
    startedAt: new Date(findings.startedAt).toISOString(),
    finishedAt: new Date(deps.now()).toISOString(),
    dryRun: options.dryRun,
    fields: [...deps.fields],
    listing: findings.listing,
    counts: {
      inStep: findings.inStep.length,
      stale: count('stale'),
      missing: count('missing'),
      orphan: count('orphan'),
      unverified: count('unverified'),
      inFlight: count('in-flight'),
      notAccepted: count('not-accepted'),
    },
    calls,
    repairManifestKey: repair?.key ?? null,
    items,
    inStep: findings.inStep,
    deletions,
  };
  await writeDriftReport({ s3: deps.s3, bucket: deps.bucket }, reportKey, report);
  deps.metrics?.count(
    'DriftItemsOutOfStep',
    report.counts.stale + report.counts.missing + report.counts.orphan,
  );
  try {
    await deps.history?.setKnownProducts(findings.entries.size);
  } catch (err) {
    deps.logger.warn('drift check: could not update the known catalog size of the guardrails', { err });
  }
  return { reportKey, report, repair };
}

/** One manifest with the chunks to send now; decided in the state first, then sent chunk by chunk. */
async function sendRepair(
  deps: RepairDeps,
  lease: HeldLease,
  chunks: Candidate[][],
  snapshot: Awaited<ReturnType<typeof gateUnderLease>>['snapshot'],
  reportKey: string,
  signal: AbortSignal,
  calls: { itemsBatch: number },
): Promise<{ key: string; manifest: Versioned<Manifest> }> {
  const startedAt = deps.now();
  const window = windowOf(startedAt);
  const manifestId = newManifestId(window, startedAt);
  const key = manifestKey(deps.syncedPrefix, window, manifestId);
  const log = deps.logger.child({ window, manifestId });
  const iso = new Date(startedAt).toISOString();
  const items = chunks.reduce((n, c) => n + c.length, 0);
  const manifest: Manifest = {
    schemaVersion: 1,
    manifestId,
    window,
    state: 'pending',
    createdAt: iso,
    updatedAt: iso,
    submittedAt: null,
    finishedAt: null,
    catalogId: deps.catalogId,
    sources: [],
    batches: chunks.map((chunk, index) => ({
      index,
      itemCount: chunk.length,
      payloadKey: payloadKey(deps.syncedPrefix, manifestId, index),
      payloadBytes: deps.client.payloadBytes(chunk.map((c) => c.item)),
      handle: null,
      status: 'unsent' as const,
      attempts: 0,
      resubmitOf: null,
      submittedAt: null,
      checkedAt: null,
    })),
    counts: { items, accepted: 0, rejected: 0, superseded: 0, unknown: items, rowsRejected: 0, calls: 0 },
    errorReportKeys: [],
    driftReport: reportKey,
  };
  await Promise.all(
    chunks.map((chunk, index) =>
      deps.manifests.writePayload(payloadKey(deps.syncedPrefix, manifestId, index), {
        manifestId,
        batchIndex: index,
        requests: chunk.map((c) => ({ method: 'UPDATE', data: c.item })),
        origins: chunk.map((c) => ({
          id: c.item.id,
          key: c.stamp.sourceKey,
          line: 0,
          t: c.stamp.sourceTime,
          q: c.stamp.sequencer,
          e: c.stamp.etag ?? null,
          ...(c.stamp.version !== undefined && c.stamp.version !== null ? { v: c.stamp.version } : {}),
        })),
      }),
    ),
  );
  let current = await deps.manifests.create(key, manifest);
  const at = deps.now();
  const decided = new Map<string, StateUpdate>();
  chunks.forEach((chunk, index) => {
    for (const c of chunk) {
      const u = snapshot.get(c.item.id)?.settleUntil;
      decided.set(c.item.id, {
        kind: 'decided',
        entry: withLastValues(
          {
            contentHash: contentHash(c.item),
            ...c.stamp,
            manifestKey: key,
            batchIndex: index,
            decidedAt: at,
            open: true,
            ...(u !== undefined && u > at ? { u } : {}),
          },
          c.item,
        ),
      });
    }
  });
  await deps.state.merge(decided, snapshot, lease.token);
  log.info('drift repair decided', {
    stage: 'drift-repair-decided',
    items,
    batches: chunks.length,
    report: reportKey,
  });

  for (const [index, chunk] of chunks.entries()) {
    let accepted;
    try {
      current = await markAttempted(deps.manifests, key, current, index);
      await lease.ensure(deps.requestTimeoutMs);
      accepted = await deps.client.itemsBatch(
        chunk.map((c) => c.item),
        { signal },
      );
    } catch (err) {
      if (err instanceof GraphApiError && (err.kind === 'auth' || err.kind === 'permission'))
        throw new SubmissionHaltedError(err);
      // The batches left unsent are sent again by the status poller, through the gate, with their stamps.
      log.warn('drift repair: items_batch not accepted; the rest is left to the status poller', {
        batchIndex: index,
        err,
      });
      break;
    }
    calls.itemsBatch++;
    deps.metrics?.count('BatchCalls');
    deps.metrics?.count('ItemsSent', chunk.length);
    const acceptedAt = new Date(deps.now()).toISOString();
    current = await deps.manifests.update(key, current, (m) =>
      recordAccepted(m, index, accepted, acceptedAt),
    );
  }
  const submittedAt = new Date(deps.now()).toISOString();
  current = await deps.manifests.update(key, current, (m) =>
    m.state === 'pending' ? { ...m, state: 'submitted', submittedAt } : null,
  );
  log.info('drift repair submitted', {
    stage: 'drift-repair-submitted',
    batches: current.value.batches.length,
  });
  return { key, manifest: current };
}
