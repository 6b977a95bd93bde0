import type { Logger } from '#shared/core/ports/logger.js';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { NotificationPublisher, TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

export interface NotifyOperatorsDeps {
  readonly notifications: NotificationPublisher;
  readonly metrics: MetricsRecorder;
  readonly logger: Logger;
}

/**
 * Publishes one notification. The state it reports is stored (or provably lost) already, so a
 * notification that cannot be published is counted and logged, never thrown: it must neither undo
 * nor repeat the change.
 *
 * @example
 * await notifyOperators({ event: 'install_lost', memberId, userId: 0, domain, from: 'none', to: 'none',
 *   reason: 'verification_answer_lost', at: new Date(now).toISOString() }, deps);
 */
export async function notifyOperators(change: TokenStatusChange, deps: NotifyOperatorsDeps): Promise<void> {
  try {
    await deps.notifications.publish(change);
  } catch (error) {
    deps.metrics.count(METRIC_NAMES.notificationFailed);
    deps.logger.error('notification not published', {
      memberId: change.memberId,
      userId: change.userId,
      event: change.event,
      error,
    });
  }
}
