import { sweepMessageErrors } from './json-schemas.ts';
import { parseEventTime } from '../shared/hours.ts';

/**
 * What can arrive on the queue, as one discriminated union. Parsing is pure: it reads the body and says
 * what the message is; deciding what to do with each kind is the worker's job.
 */

/** One created object named by an S3 event record (or by a straggler message). */
export interface ObjectRef {
  bucket: string;
  /** Decoded key (S3 events carry it form-encoded). */
  key: string;
  /** Unquoted ETag, when the message names one. */
  etag: string | null;
  versionId: string | null;
  /** S3's per-key order; absent for some event types (and always in moto). */
  sequencer: string | null;
  /** Event time (ms since epoch); null for a straggler, whose time is the object's LastModified. */
  eventTime: number | null;
  size: number | null;
}

export interface IgnoredRecord {
  reason: string;
  key: string | null;
}

export type QueueMessage =
  | { kind: 's3-event'; objects: ObjectRef[]; ignored: IgnoredRecord[] }
  | { kind: 's3-test-event'; bucket: string | null }
  | { kind: 'straggler'; object: ObjectRef; reason: string }
  | { kind: 'status-recheck'; manifestKey: string }
  /** `catalog-sync release`: send a held manifest (src/guardrails/release.ts). */
  | { kind: 'release'; manifestKey: string; by: string; requestedAt: string }
  /** The DAG's drift schedule: read the catalog back and repair it (src/drift/). */
  | { kind: 'drift-check'; dryRun: boolean }
  | { kind: 'invalid'; deadLetter: 'unparseable' | 'unsupported-version'; reason: string };

const SWEEP_VERSION = 1;
const S3_EVENT_MAJOR = 2;

/** S3 keys in events are form-encoded: `+` is a space, a literal `+` is %2B. */
export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

export function unquoteEtag(etag: string | null | undefined): string | null {
  if (!etag) return null;
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

export function parseQueueMessage(body: string | undefined): QueueMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return invalid('unparseable', `body is not JSON (${(body ?? '').length} bytes)`);
  }
  if (!isObject(parsed)) return invalid('unparseable', 'body is not a JSON object');
  if (parsed.Event === 's3:TestEvent') {
    return { kind: 's3-test-event', bucket: typeof parsed.Bucket === 'string' ? parsed.Bucket : null };
  }
  if (Array.isArray(parsed.Records)) return parseS3Event(parsed.Records);
  if (typeof parsed.kind === 'string' && parsed.kind.startsWith('catalog-sync.')) return parseSweep(parsed);
  return invalid(
    'unparseable',
    `not an S3 event or a catalog-sync message (keys: ${Object.keys(parsed).slice(0, 5)})`,
  );
}

function parseS3Event(records: unknown[]): QueueMessage {
  const objects: ObjectRef[] = [];
  const ignored: IgnoredRecord[] = [];
  if (records.length === 0) return invalid('unparseable', 'S3 event with no records');
  for (const [i, record] of records.entries()) {
    if (!isObject(record)) return invalid('unparseable', `S3 record ${i} is not an object`);
    const version = typeof record.eventVersion === 'string' ? record.eventVersion : '';
    if (Number.parseInt(version, 10) !== S3_EVENT_MAJOR) {
      return invalid('unsupported-version', `S3 record ${i} has eventVersion "${version}", expected 2.x`);
    }
    const s3 = isObject(record.s3) ? record.s3 : null;
    const bucket = s3 && isObject(s3.bucket) ? s3.bucket.name : undefined;
    const object = s3 && isObject(s3.object) ? s3.object : null;
    if (typeof bucket !== 'string' || !object || typeof object.key !== 'string') {
      return invalid('unparseable', `S3 record ${i} lacks s3.bucket.name or s3.object.key`);
    }
    let key: string;
    try {
      key = decodeS3Key(object.key);
    } catch {
      return invalid('unparseable', `S3 record ${i} has a key that is not valid URL encoding`);
    }
    const eventName = typeof record.eventName === 'string' ? record.eventName : '';
    if (!eventName.startsWith('ObjectCreated:')) {
      ignored.push({ reason: `event ${eventName || '(none)'} is not an ObjectCreated event`, key });
      continue;
    }
    const eventTime = parseEventTime(record.eventTime);
    if (eventTime === null) return invalid('unparseable', `S3 record ${i} has no usable eventTime`);
    objects.push({
      bucket,
      key,
      etag: unquoteEtag(str(object.eTag) ?? str(object.etag)),
      versionId: str(object.versionId),
      sequencer: str(object.sequencer),
      eventTime,
      size: typeof object.size === 'number' ? object.size : null,
    });
  }
  return { kind: 's3-event', objects, ignored };
}

function parseSweep(msg: Record<string, unknown>): QueueMessage {
  if (msg.version !== SWEEP_VERSION) {
    return invalid(
      'unsupported-version',
      `${String(msg.kind)} version ${String(msg.version)} is not supported`,
    );
  }
  const why = sweepMessageErrors(msg);
  if (why !== null) {
    return invalid('unparseable', `${String(msg.kind)} does not match sweep-message.schema.json: ${why}`);
  }
  if (msg.kind === 'catalog-sync.status-recheck') {
    return { kind: 'status-recheck', manifestKey: String(msg.manifestKey) };
  }
  if (msg.kind === 'catalog-sync.release') {
    return {
      kind: 'release',
      manifestKey: String(msg.manifestKey),
      by: String(msg.by),
      requestedAt: String(msg.sentAt),
    };
  }
  if (msg.kind === 'catalog-sync.drift-check') return { kind: 'drift-check', dryRun: msg.dryRun === true };
  return {
    kind: 'straggler',
    reason: String(msg.reason),
    object: {
      bucket: String(msg.bucket),
      key: String(msg.key),
      etag: unquoteEtag(str(msg.etag)),
      versionId: null,
      sequencer: null,
      eventTime: null,
      size: null,
    },
  };
}

/** Why the worker will not read this object, or null when it should. */
export function skipReason(
  object: Pick<ObjectRef, 'bucket' | 'key'>,
  landing: { bucket: string; prefix: string },
): string | null {
  if (object.bucket !== landing.bucket) return `bucket ${object.bucket} is not the landing bucket`;
  if (!object.key.startsWith(landing.prefix)) return `key is outside the landing prefix ${landing.prefix}`;
  if (object.key.endsWith('/')) return 'key is a folder marker';
  return null;
}

/** CSV files are named *.csv in any case (.csv, .CSV, .Csv); anything else in landing/ gets a file report. */
export function isCsvKey(key: string): boolean {
  return key.toLowerCase().endsWith('.csv');
}

function invalid(deadLetter: 'unparseable' | 'unsupported-version', reason: string): QueueMessage {
  return { kind: 'invalid', deadLetter, reason };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}
