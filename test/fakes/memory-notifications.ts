import type { NotificationPublisher, TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

/** Keeps every notification, for "exactly once per transition" assertions. */
export class MemoryNotifications implements NotificationPublisher {
  readonly published: TokenStatusChange[] = [];
  failWith: Error | undefined;

  async publish(change: TokenStatusChange): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.published.push(change);
  }

  events(memberId?: string): string[] {
    return this.published.filter((c) => memberId === undefined || c.memberId === memberId).map((c) => c.event);
  }
}
