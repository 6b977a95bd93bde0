import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeRefreshMessage } from '#shared/core/domain/refresh-message.js';
import type { EnqueueOutcome, RefreshQueue, ScheduledRefresh } from '#shared/core/ports/refresh-queue.js';

export interface SqsRefreshQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** `SendMessageBatch` calls in flight at once. @default 8 */
  readonly concurrency?: number;
}

/** SQS takes at most 10 entries per `SendMessageBatch`. */
const BATCH = 10;

/**
 * The refresh queue on SQS (a standard queue): `SendMessageBatch` in batches of 10, a few in flight.
 * Entries SQS refuses are sent once more; what is still refused, or a batch whose call fails, is
 * counted as failed and left to the next dispatch (the keys stay due in the index).
 *
 * @example
 * const queue = new SqsRefreshQueue({ client: new SQSClient({}), queueUrl: config.REFRESH_QUEUE_URL });
 */
export class SqsRefreshQueue implements RefreshQueue {
  constructor(private readonly options: SqsRefreshQueueOptions) {}

  async enqueue(requests: readonly ScheduledRefresh[]): Promise<EnqueueOutcome> {
    const batches: ScheduledRefresh[][] = [];
    for (let i = 0; i < requests.length; i += BATCH) batches.push(requests.slice(i, i + BATCH));
    let sent = 0;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const batch = batches[next];
        next += 1;
        if (batch === undefined) return;
        // Awaited first: `sent += await …` would read `sent` before the other lanes added to it.
        const accepted = await this.sendBatch(batch);
        sent += accepted;
      }
    };
    const lanes = Math.max(1, Math.min(this.options.concurrency ?? 8, batches.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    return { sent, failed: requests.length - sent };
  }

  /** Sends one batch (and its refused entries once more); returns how many SQS accepted. */
  private async sendBatch(batch: readonly ScheduledRefresh[]): Promise<number> {
    let entries: SendMessageBatchRequestEntry[] = batch.map(({ request, delaySeconds }, i) => ({
      Id: String(i),
      MessageBody: encodeRefreshMessage(request),
      ...(delaySeconds === undefined || delaySeconds <= 0 ? {} : { DelaySeconds: Math.min(900, delaySeconds) }),
    }));
    let accepted = 0;
    for (let attempt = 1; attempt <= 2 && entries.length > 0; attempt += 1) {
      let failedIds: Set<string>;
      try {
        const answer = await this.options.client.send(
          new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
        );
        accepted += answer.Successful?.length ?? 0;
        // A sender fault (a malformed entry) fails again the same way: only the others are retried.
        failedIds = new Set((answer.Failed ?? []).filter((f) => f.SenderFault !== true).map((f) => f.Id ?? ''));
      } catch {
        // The SDK has retried already; the keys stay due and the next dispatch sends them.
        return accepted;
      }
      entries = entries.filter((entry) => failedIds.has(entry.Id ?? ''));
    }
    return accepted;
  }
}
