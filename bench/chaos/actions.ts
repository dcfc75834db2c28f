import { redeliverOldEvent, withoutEvents } from './events.ts';
import { pick, type ChaosContext } from './context.ts';
import type { UploadRecord } from './ledger.ts';
import { readManifests } from './oracle/s3-view.ts';
import { waitStarted, type WorkerProcess } from './workers.ts';

/**
 * The things a chaos round does to the system: upload a file (its S3 event maybe lost), deliver an old
 * event again, SIGKILL a worker, roll out a new worker generation. Each counts itself in the tally and
 * says what it did.
 */

/** Uploads 1–12 rows of overlapping ids; with the lost-event rate, its S3 event never reaches the queue. */
export async function upload(ctx: ChaosContext, round: number): Promise<UploadRecord> {
  const { random, rig, tally } = ctx;
  const n = 1 + Math.floor(random() * 12);
  const ids = Array.from(
    { length: n },
    () => `P${String(Math.floor(random() * ctx.options.idCount)).padStart(3, '0')}`,
  );
  const lost = random() < ctx.options.lostRate;
  const rows = rig.ledger.rowsFor(ids);
  const bucket = rig.stack.landingBucket;
  const put = () => rig.ledger.upload(rig.clients.s3, bucket, rows, { round, eventLost: lost });
  const record = lost ? await withoutEvents(rig.clients.s3, bucket, put) : await put();
  tally.uploads++;
  if (lost) {
    tally.lostEvents++;
    ctx.say(`  upload ${record.key} (${rows.length} rows) with its S3 event LOST`);
  }
  return record;
}

/** Delivers the event of an upload from an earlier round again, with its original event time. */
export async function redeliverOld(ctx: ChaosContext, round: number): Promise<void> {
  const { rig } = ctx;
  const old = rig.ledger.uploads.filter((u) => u.round < round);
  if (old.length === 0) return;
  const u = pick(ctx.random, old);
  const manifests = await readManifests(rig.clients.s3, rig.stack.syncedBucket);
  const source = manifests.flatMap((m) => m.sources).find((s) => s.key === u.key && s.etag === u.etag);
  const eventTime = source ? Date.parse(source.eventTime) : u.lastModified;
  await redeliverOldEvent(rig.clients.sqs, rig.stack.queueUrl, rig.stack.landingBucket, u, eventTime);
  ctx.tally.redelivered++;
  ctx.say(`  old event of ${u.key} (round ${u.round}) delivered again`);
}

/** Starts `--workers` processes of one generation. */
export function startGeneration(ctx: ChaosContext, generation: number): WorkerProcess[] {
  return Array.from({ length: ctx.options.workerCount }, () => ctx.rig.pool.start(generation));
}

/** Rolling deploy: the new generation is up before the old one is stopped (SIGTERM, or SIGKILL). */
export async function deploy(ctx: ChaosContext, signal: NodeJS.Signals): Promise<void> {
  const { pool } = ctx.rig;
  const { tally } = ctx;
  const old = pool.live();
  tally.generations++;
  tally.deploys++;
  const fresh = startGeneration(ctx, tally.generations);
  await waitStarted(fresh);
  await Promise.all(old.map((p) => pool.stop(p, signal)));
  if (signal === 'SIGKILL') tally.sigkills += old.length;
  ctx.say(
    `  deploy: generation ${tally.generations} (${fresh.length} workers) up, then ${signal} to ${old.length} of the old`,
  );
}

/** SIGKILLs one live worker, maybe uploads while it is down, then starts its replacement. */
export async function killOne(ctx: ChaosContext, round: number): Promise<void> {
  const { pool } = ctx.rig;
  const victim = pick(ctx.random, pool.live());
  await pool.stop(victim, 'SIGKILL');
  ctx.tally.sigkills++;
  ctx.say(`  SIGKILL worker ${victim.id} (generation ${victim.generation})`);
  if (ctx.random() < 0.5) await upload(ctx, round);
  pool.start(ctx.tally.generations);
}
