import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/**
 * Why a message is in the dead-letter queue. When the worker gives up on a message (unparseable, or a
 * transient failure on its last allowed receive) it sends the message to the DLQ itself with these
 * attributes and deletes the original, so every DLQ message carries its reason. A message that reached
 * the DLQ through the redrive policy alone (the worker crashed or timed out on every receive) has none.
 */
export const DLQ_ATTR = {
  error: 'CatalogSyncError',
  kind: 'CatalogSyncErrorKind',
  failedAt: 'CatalogSyncFailedAt',
  receiveCount: 'CatalogSyncReceiveCount',
  sourceQueue: 'CatalogSyncSourceQueue',
} as const;

export type DeadLetterKind = 'unparseable' | 'unsupported-version' | 'transient-exhausted' | 'internal';

export interface DeadLetterReason {
  kind: DeadLetterKind;
  error: string;
  failedAt: string;
  receiveCount: number;
  sourceQueue: string;
}

export function deadLetterAttributes(reason: DeadLetterReason): Record<string, MessageAttributeValue> {
  const s = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v.slice(0, 1000) });
  return {
    [DLQ_ATTR.error]: s(reason.error),
    [DLQ_ATTR.kind]: s(reason.kind),
    [DLQ_ATTR.failedAt]: s(reason.failedAt),
    [DLQ_ATTR.receiveCount]: { DataType: 'Number', StringValue: String(reason.receiveCount) },
    [DLQ_ATTR.sourceQueue]: s(reason.sourceQueue),
  };
}

/** Reads the reason back; null when the message reached the DLQ without a worker verdict. */
export function readDeadLetterReason(
  attributes: Record<string, MessageAttributeValue> | undefined,
): DeadLetterReason | null {
  const get = (name: string) => attributes?.[name]?.StringValue;
  const error = get(DLQ_ATTR.error);
  if (!error) return null;
  return {
    kind: (get(DLQ_ATTR.kind) ?? 'internal') as DeadLetterKind,
    error,
    failedAt: get(DLQ_ATTR.failedAt) ?? '',
    receiveCount: Number(get(DLQ_ATTR.receiveCount) ?? 0),
    sourceQueue: get(DLQ_ATTR.sourceQueue) ?? '',
  };
}
