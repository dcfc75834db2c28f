import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { awsErrorCode, awsErrorMessage, OpsError } from './errors.ts';
import { redriveClaimKey } from '../contract/layout.ts';

/**
 * Who is moving which DLQ message, as one small S3 object per message created with If-None-Match: the
 * one atomic step two operators on two machines can share. SQS visibility already keeps a received
 * message from a second reader, but a standard queue delivers at least once, and an emulator (moto)
 * hands one message to two concurrent receivers now and then; a conditional create settles who sends.
 *
 * A claim says `moving` until the copy is sent, then `sent`. A `moving` claim past its expiry belongs to
 * an operator that died mid-move: whether it sent is unknown, so it is taken over (a possible duplicate,
 * which the worker absorbs) rather than leaving the message stuck.
 */

export type ClaimResult =
  | { kind: 'claimed' }
  /** Another operator sent it already: the DLQ copy is a leftover and can be deleted. */
  | { kind: 'already-sent'; owner: string }
  /** Another operator is moving it right now. */
  | { kind: 'held'; owner: string; until: string };

export interface MoveClaims {
  claim(messageId: string): Promise<ClaimResult>;
  markSent(messageId: string): Promise<void>;
}

interface ClaimDoc {
  v: 1;
  state: 'moving' | 'sent';
  owner: string;
  messageId: string;
  queueUrl: string;
  claimedAt: string;
  expiresAt: string;
}

export interface S3ClaimsOptions {
  s3: S3Client;
  bucket: string;
  /** e.g. `synced/redrive-claims/<dlq name>/`; the bucket's lifecycle rule expires them. */
  prefix: string;
  dlqUrl: string;
  /** How long a `moving` claim protects its message; far above one send + delete. */
  ttlMs?: number;
  now?: () => Date;
  owner?: string;
}

export function s3MoveClaims(options: S3ClaimsOptions): MoveClaims {
  const { s3, bucket, prefix, dlqUrl } = options;
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const now = options.now ?? (() => new Date());
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const keyOf = (messageId: string) => redriveClaimKey(prefix, messageId);

  const doc = (messageId: string, state: ClaimDoc['state']): string => {
    const t = now();
    const claim: ClaimDoc = {
      v: 1,
      state,
      owner,
      messageId,
      queueUrl: dlqUrl,
      claimedAt: t.toISOString(),
      expiresAt: new Date(t.getTime() + ttlMs).toISOString(),
    };
    return JSON.stringify(claim);
  };

  const put = async (
    messageId: string,
    state: ClaimDoc['state'],
    condition: { IfNoneMatch?: string; IfMatch?: string },
  ) =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keyOf(messageId),
        Body: doc(messageId, state),
        ContentType: 'application/json',
        ...condition,
      }),
    );

  const fail = (doing: string, messageId: string, err: unknown) =>
    new OpsError(
      `could not ${doing} the redrive claim s3://${bucket}/${keyOf(messageId)}: ${awsErrorMessage(err)} ` +
        '(redrive needs s3:GetObject and s3:PutObject there; check SYNCED_BUCKET)',
      { bucket, key: keyOf(messageId) },
      { cause: err },
    );

  return {
    async claim(messageId) {
      try {
        await put(messageId, 'moving', { IfNoneMatch: '*' });
        return { kind: 'claimed' };
      } catch (err) {
        if (!isPreconditionFailed(err)) throw fail('create', messageId, err);
      }
      let existing: ClaimDoc;
      let etag: string;
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(messageId) }));
        existing = JSON.parse(await out.Body!.transformToString()) as ClaimDoc;
        etag = out.ETag ?? '';
      } catch (err) {
        throw fail('read', messageId, err);
      }
      if (existing.state === 'sent') return { kind: 'already-sent', owner: existing.owner };
      if (Date.parse(existing.expiresAt) > now().getTime())
        return { kind: 'held', owner: existing.owner, until: existing.expiresAt };
      try {
        // Expired: take it over, unless someone else just did.
        await put(messageId, 'moving', { IfMatch: etag });
        return { kind: 'claimed' };
      } catch (err) {
        if (isPreconditionFailed(err)) return { kind: 'held', owner: 'another operator', until: '' };
        throw fail('take over', messageId, err);
      }
    },
    async markSent(messageId) {
      try {
        await put(messageId, 'sent', {});
      } catch (err) {
        throw fail('update', messageId, err);
      }
    },
  };
}

function isPreconditionFailed(err: unknown): boolean {
  const code = awsErrorCode(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    code === 'PreconditionFailed' || status === 412 || code === 'ConditionalRequestConflict' || status === 409
  );
}
