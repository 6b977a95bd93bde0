import type { InstallClaim } from '#shared/core/domain/lifecycle-events.js';
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

/**
 * Tells operators about an install claim that changed no token set's status (`install_lost`,
 * `application_token_refused`): `from` and `to` are `none`, the user is the claim's (0 when unknown).
 *
 * @example
 * await notifyAboutClaim('install_lost', claim, { reason: 'claim_unsaved', at: now }, deps);
 */
export async function notifyAboutClaim(
  event: 'install_lost' | 'application_token_refused',
  claim: Pick<InstallClaim, 'memberId' | 'claimedUserId' | 'domain'>,
  details: { readonly reason: string; readonly at: number; readonly userId?: number },
  deps: NotifyOperatorsDeps,
): Promise<void> {
  await notifyOperators(
    {
      event,
      memberId: claim.memberId,
      userId: details.userId ?? claim.claimedUserId ?? 0,
      domain: claim.domain ?? '',
      from: 'none',
      to: 'none',
      reason: details.reason,
      at: new Date(details.at).toISOString(),
    },
    deps,
  );
}
