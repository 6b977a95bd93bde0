import type { QueuedRefresh } from '#shared/core/domain/refresh-message.js';

export type { QueuedRefresh };

/** A request and how long the queue keeps it from the workers (spreading, `spreadDelaySeconds`). */
export interface ScheduledRefresh {
  readonly request: QueuedRefresh;
  /** 0–900 (SQS's limit). @default 0 */
  readonly delaySeconds?: number;
}

/** What one `enqueue` call achieved. */
export interface EnqueueOutcome {
  /** Accepted by the queue. */
  readonly sent: number;
  /** Refused by the queue; they stay due in the index and the next dispatch sends them again. */
  readonly failed: number;
}

/**
 * The queue between the dispatcher, which reads the due index, and the refresh workers, which spend
 * refresh tokens (docs/adr/0008-refresh-fan-out-on-sqs.md). Delivery is at least once and unordered:
 * the refresh lease and the due-time check of the refresh path make a second delivery harmless.
 *
 * @example
 * const { sent, failed } = await queue.enqueue([{ request: { memberId: 'a1b2', userId: 1, dueAt: 1767225600000 } }]);
 */
export interface RefreshQueue {
  /** Sends the requests, in as many batches as the queue needs (SQS: 10 a batch). */
  enqueue(requests: readonly ScheduledRefresh[]): Promise<EnqueueOutcome>;
}
