import type { SQSClient } from '@aws-sdk/client-sqs';
import { entryMatches, type DlqEntry } from './dlq-message.ts';
import { DlqScan, type ReleaseFailure } from './dlq-scan.ts';

/**
 * Reads what is in the dead-letter queue without changing it: every message is received with a short
 * hold and made visible again when the listing ends. The one trace SQS leaves is the receive count,
 * which the DLQ (it has no redrive policy of its own) never acts on; a redrive resets it anyway.
 */

export interface ListOptions {
  sqs: SQSClient;
  dlqUrl: string;
  /** Stop after this many matching messages. */
  limit: number;
  isMatch?: (key: string) => boolean;
  holdSeconds?: number;
  waitSeconds?: number;
  signal?: AbortSignal;
}

export interface DlqListing {
  /** Matching messages, in the order SQS returned them. */
  entries: DlqEntry[];
  /** Messages seen that did not match `--match`. */
  notMatched: number;
  /** True when the limit stopped the listing before the queue was read to the end. */
  truncated: boolean;
  releaseFailures: ReleaseFailure[];
}

export async function listDlq(options: ListOptions): Promise<DlqListing> {
  const scan = new DlqScan({
    sqs: options.sqs,
    queueUrl: options.dlqUrl,
    holdSeconds: options.holdSeconds ?? 60,
    waitSeconds: options.waitSeconds ?? 1,
  });
  const entries: DlqEntry[] = [];
  let notMatched = 0;
  let truncated = false;
  let releaseFailures: ReleaseFailure[];
  try {
    for (;;) {
      if (options.signal?.aborted) break;
      if (entries.length >= options.limit) {
        truncated = true;
        break;
      }
      const { fresh, end } = await scan.receive(10);
      if (end) break;
      for (const { entry } of fresh) {
        if (!entryMatches(entry, options.isMatch)) notMatched += 1;
        else if (entries.length < options.limit) entries.push(entry);
        else truncated = true;
      }
    }
  } finally {
    releaseFailures = (await scan.releaseAll()).failed;
  }
  return { entries, notMatched, truncated, releaseFailures };
}
