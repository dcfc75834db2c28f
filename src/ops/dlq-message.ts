import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { DLQ_ATTR, readDeadLetterReason, type DeadLetterReason } from '../dead-letter.ts';

/**
 * What a dead-lettered message is and why it failed, read from its body and the worker's dead-letter
 * attributes. Pure: no SQS calls, so the listing, the dry run and the move loop all describe a message
 * the same way.
 */

export type DlqPayload =
  | { kind: 's3-event'; objects: { bucket: string; key: string; eventName: string; eventTime: string }[] }
  | { kind: 's3-test-event' }
  | { kind: 'straggler'; bucket: string; key: string; reason: string; version: unknown }
  | { kind: 'status-recheck'; manifestKey: string; version: unknown }
  | { kind: 'unparseable'; why: string };

export type DlqMessageKind = DlqPayload['kind'];

export type FailureReason =
  | { kind: 'verdict'; reason: DeadLetterReason }
  /** Moved by the queue's redrive policy: the worker never said why (it crashed or timed out each time). */
  | { kind: 'no-verdict' };

export interface DlqEntry {
  messageId: string;
  payload: DlqPayload;
  /** The keys the message names: object keys, or the manifest key of a status re-check. `--match` applies to these. */
  keys: string[];
  /** Receives before it was dead-lettered: the worker's count, else SQS's count without this listing's own receive. */
  receiveCount: number | null;
  failure: FailureReason;
  /** When it was first sent to the source queue (SQS keeps this across the dead-letter move). */
  sentAt: string | null;
}

export const NO_VERDICT_TEXT =
  'no worker verdict: dead-lettered by maxReceiveCount (the worker crashed or timed out on every receive)';

/** S3 event keys are URL-encoded form style: '+' is a space. */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function parseDlqBody(body: string | undefined): DlqPayload {
  if (body === undefined || body === '') return { kind: 'unparseable', why: 'empty body' };
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { kind: 'unparseable', why: `not JSON: ${body.slice(0, 80)}` };
  }
  if (!isRecord(doc)) return { kind: 'unparseable', why: 'JSON but not an object' };
  if (doc.Event === 's3:TestEvent') return { kind: 's3-test-event' };
  if (Array.isArray(doc.Records)) {
    const objects = doc.Records.filter(isRecord).map((r) => {
      const s3 = isRecord(r.s3) ? r.s3 : {};
      const bucket = isRecord(s3.bucket) ? str(s3.bucket.name) : '';
      const key = isRecord(s3.object) ? decodeS3Key(str(s3.object.key)) : '';
      return { bucket, key, eventName: str(r.eventName), eventTime: str(r.eventTime) };
    });
    if (objects.length === 0 || objects.some((o) => o.key === ''))
      return { kind: 'unparseable', why: 'Records without s3.object.key' };
    return { kind: 's3-event', objects };
  }
  if (doc.kind === 'catalog-sync.straggler' && typeof doc.key === 'string')
    return {
      kind: 'straggler',
      bucket: str(doc.bucket),
      key: doc.key,
      reason: str(doc.reason),
      version: doc.version,
    };
  if (doc.kind === 'catalog-sync.status-recheck' && typeof doc.manifestKey === 'string')
    return { kind: 'status-recheck', manifestKey: doc.manifestKey, version: doc.version };
  return { kind: 'unparseable', why: `unknown message shape (kind ${JSON.stringify(doc.kind ?? null)})` };
}

export function keysOf(payload: DlqPayload): string[] {
  switch (payload.kind) {
    case 's3-event':
      return payload.objects.map((o) => o.key);
    case 'straggler':
      return [payload.key];
    case 'status-recheck':
      return [payload.manifestKey];
    case 's3-test-event':
    case 'unparseable':
      return [];
  }
}

export function describeDlqMessage(message: Message): DlqEntry {
  const payload = parseDlqBody(message.Body);
  const reason = readDeadLetterReason(message.MessageAttributes);
  const sqsCount = Number(message.Attributes?.ApproximateReceiveCount);
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? '',
    payload,
    keys: keysOf(payload),
    receiveCount: reason ? reason.receiveCount : Number.isFinite(sqsCount) ? Math.max(0, sqsCount - 1) : null,
    failure: reason ? { kind: 'verdict', reason } : { kind: 'no-verdict' },
    sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
  };
}

export function failureText(failure: FailureReason): string {
  return failure.kind === 'verdict' ? `${failure.reason.kind}: ${failure.reason.error}` : NO_VERDICT_TEXT;
}

/** A message matches when any key it names matches; one naming no key never matches a pattern. */
export function entryMatches(entry: DlqEntry, isMatch: ((key: string) => boolean) | undefined): boolean {
  return isMatch === undefined || entry.keys.some((k) => isMatch(k));
}

const DEAD_LETTER_NAMES = new Set<string>(Object.values(DLQ_ATTR));

/**
 * The attributes to send back with: everything the original producer set, without the worker's verdict,
 * so a redriven message is indistinguishable from a fresh one and a later failure records its own reason.
 */
export function redriveAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): Record<string, MessageAttributeValue> | undefined {
  const kept: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (DEAD_LETTER_NAMES.has(name)) continue;
    // Received values carry empty list fields that SendMessage rejects; keep the scalar one.
    kept[name] =
      value.BinaryValue !== undefined
        ? { DataType: value.DataType, BinaryValue: value.BinaryValue }
        : { DataType: value.DataType, StringValue: value.StringValue };
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}
