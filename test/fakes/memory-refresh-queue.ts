import type { QueuedRefresh } from '#shared/core/domain/refresh-message.js';
import type { EnqueueOutcome, RefreshQueue } from '#shared/core/ports/refresh-queue.js';

/** The refresh queue in memory: keeps what was sent; `refuse` makes it refuse that many requests. */
export class MemoryRefreshQueue implements RefreshQueue {
  readonly sent: QueuedRefresh[] = [];
  refuse = 0;

  async enqueue(requests: readonly QueuedRefresh[]): Promise<EnqueueOutcome> {
    const refused = Math.min(this.refuse, requests.length);
    this.refuse -= refused;
    this.sent.push(...requests.slice(refused));
    return { sent: requests.length - refused, failed: refused };
  }
}
