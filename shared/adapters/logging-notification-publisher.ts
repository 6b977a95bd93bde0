import type { Logger } from '#shared/core/ports/logger.js';
import type { NotificationPublisher, TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

/**
 * Notifications as log lines, where no event bus is configured (local runs, or a deployment that
 * alerts from logs). `reauth_required`, `invalid_client` and `lost_write` need a person: logged as errors.
 */
export class LoggingNotificationPublisher implements NotificationPublisher {
  constructor(private readonly logger: Logger) {}

  async publish(change: TokenStatusChange): Promise<void> {
    const urgent =
      change.event === 'reauth_required' || change.event === 'invalid_client' || change.event === 'lost_write';
    if (urgent) this.logger.error('token status changed', { notification: change });
    else this.logger.warn('token status changed', { notification: change });
  }
}
