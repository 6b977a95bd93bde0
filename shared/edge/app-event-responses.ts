import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ForbiddenError } from '#shared/core/domain/errors.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import type { AppEventOutcome } from '#shared/core/use-cases/handle-app-event.js';
import { json } from './responses.js';

/**
 * The answer to an event webhook, and its log line. Bitrix24 reads only the status: 2xx is delivered,
 * 4xx refused. An install or update is parked and answered 202 at once (verified and stored by
 * process-parked-events); refused uninstalls become `ForbiddenError` (403) so the one error
 * translation renders them. Ignored events, parked claims and refusals are also counted.
 */
export function appEventResponse(
  outcome: AppEventOutcome,
  observability: { readonly logger: Logger; readonly metrics: MetricsRecorder },
): APIGatewayProxyStructuredResultV2 {
  const { logger, metrics } = observability;
  if (outcome.event === 'other') {
    logger.info('event ignored', { event: outcome.name });
    metrics.count(METRIC_NAMES.lifecycleEventIgnored);
    return json(200, { status: 'ignored' });
  }
  const { event, result } = outcome;
  const base = { event, memberId: result.memberId, outcome: result.kind };
  switch (result.kind) {
    case 'accepted':
      logger.info('install claim accepted', { ...base, alreadyParked: result.alreadyParked });
      metrics.count(METRIC_NAMES.installClaimParked);
      return json(202, { status: 'accepted' });
    case 'duplicate':
      logger.info('install event already handled', base);
      metrics.count(METRIC_NAMES.installDuplicate);
      return json(200, { status: result.kind });
    case 'refused':
      metrics.count(METRIC_NAMES.installClaimRefused);
      throw new ForbiddenError('the event names an authorization server this service does not use', {
        details: { reason: result.reason },
      });
    case 'uninstalled':
      logger.info('portal uninstalled', { ...base, clean: result.clean, tokenSetsDeleted: result.tokenSetsDeleted });
      metrics.count(METRIC_NAMES.portalUninstalled);
      return json(200, { status: 'uninstalled' });
    case 'unknown_portal':
      logger.info('uninstall of an unknown portal', { ...base, cancelledParked: result.cancelledParked });
      metrics.count(METRIC_NAMES.uninstallUnknownPortal);
      return json(200, { status: 'unknown_portal' });
    case 'forbidden':
      metrics.count(METRIC_NAMES.uninstallRefused);
      throw new ForbiddenError('the application token does not match, or the app is still installed on the portal');
    case 'unproven':
      // Bitrix24 does not resend; the token set's own status (and its notifications) tell the rest.
      logger.warn('uninstall not proven; nothing changed', { ...base, because: result.because });
      metrics.count(METRIC_NAMES.uninstallUnproven);
      return json(202, { status: 'unproven' });
  }
}
