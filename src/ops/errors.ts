/**
 * What went wrong in an operator command, phrased for the operator: the message says what failed and
 * what to do; `context` carries the ids (queue, key) for --json output and logs.
 */
export class OpsError extends Error {
  override readonly name = 'OpsError';
  readonly context: Record<string, unknown>;
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.context = context;
  }
}

/** The AWS error code of a thrown SDK error or a batch `Failed` entry, '' when there is none. */
export function awsErrorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { Code?: unknown; name?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : '';
}

export function awsErrorMessage(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { Message?: unknown; message?: unknown };
  if (typeof e.Message === 'string') return e.Message;
  return typeof e.message === 'string' ? e.message : String(err);
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * The receipt handle no longer holds the message: it expired, or the message became visible and someone
 * else received it. SQS says so with several codes depending on the call and the queue.
 */
export function isReceiptHandleGone(err: unknown): boolean {
  const code = awsErrorCode(err).replace(/^AWS\.SimpleQueueService\./, '');
  if (code === 'ReceiptHandleIsInvalid' || code === 'MessageNotInflight') return true;
  return code === 'InvalidParameterValue' && /receipt handle/i.test(awsErrorMessage(err));
}

export function isQueueMissing(err: unknown): boolean {
  const code = awsErrorCode(err).replace(/^AWS\.SimpleQueueService\./, '');
  return code === 'QueueDoesNotExist' || code === 'NonExistentQueue';
}

/**
 * The service does not offer the message-move API at all (moto answers an HTML 500 the SDK cannot parse;
 * other emulators say UnsupportedOperation or an unknown action). A real service error, such as
 * throttling or access denied, is not this and must not silently switch strategies.
 */
export function isMoveTaskUnsupported(err: unknown): boolean {
  const code = awsErrorCode(err).replace(/^AWS\.SimpleQueueService\./, '');
  if (['UnsupportedOperation', 'InvalidAction', 'UnknownOperationException', 'NotImplemented'].includes(code))
    return true;
  const status = httpStatus(err);
  if (status === 501) return true;
  if (status === 404 && code !== 'ResourceNotFoundException' && !isQueueMissing(err)) return true;
  const unparsable = code === 'SyntaxError' || /Deserialization error/i.test(awsErrorMessage(err));
  return unparsable && status !== undefined && status >= 400;
}
