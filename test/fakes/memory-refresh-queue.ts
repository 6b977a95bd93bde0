import type { QueuedRefresh } from '#shared/core/domain/refresh-message.js';
import type { EnqueueOutcome, RefreshQueue, ScheduledRefresh } from '#shared/core/ports/refresh-queue.js';

/** The refresh queue in memory: keeps what was sent; `refuse` makes it refuse that many requests. */
export class MemoryRefreshQueue implements RefreshQueue {
  readonly sent: QueuedRefresh[] = [];
  /** Delay of each sent request, in order. */
  readonly delays: number[] = [];
  refuse = 0;

  async enqueue(requests: readonly ScheduledRefresh[]): Promise<EnqueueOutcome> {
    const refused = Math.min(this.refuse, requests.length);
    this.refuse -= refused;
    for (const { request, delaySeconds } of requests.slice(refused)) {
      this.sent.push(request);
      this.delays.push(delaySeconds ?? 0);
    }
    return { sent: requests.length - refused, failed: refused };
  }
}
