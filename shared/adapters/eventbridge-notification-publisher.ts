import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { NotificationPublisher, TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

/** `source` of every event this service puts on the bus. */
export const NOTIFICATION_SOURCE = 'bitrix24.token-service';
/** `detail-type` of token-status notifications. */
export const TOKEN_STATUS_DETAIL_TYPE = 'Token Status Changed';

/**
 * Publishes token-status notifications to an EventBridge bus (`PutEvents`, one entry each). The
 * detail is the `TokenStatusChange` as it is: no tokens, codes or secrets ever reach it.
 *
 * @example
 * const publisher = new EventBridgeNotificationPublisher({ client: new EventBridgeClient({}), eventBusName: 'default' });
 */
export class EventBridgeNotificationPublisher implements NotificationPublisher {
  constructor(private readonly options: { readonly client: EventBridgeClient; readonly eventBusName: string }) {}

  async publish(change: TokenStatusChange): Promise<void> {
    const { FailedEntryCount, Entries } = await this.options.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.options.eventBusName,
            Source: NOTIFICATION_SOURCE,
            DetailType: TOKEN_STATUS_DETAIL_TYPE,
            Time: new Date(change.at),
            Detail: JSON.stringify(change),
          },
        ],
      }),
    );
    // PutEvents answers 200 even when an entry was refused; the entry says why.
    if ((FailedEntryCount ?? 0) > 0) {
      const entry = Entries?.[0];
      throw new Error(
        `EventBridge refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
