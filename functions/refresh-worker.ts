import type { Logger } from '@aws-lambda-powertools/logger';
import { decodeRefreshMessage, type QueuedRefresh } from '#shared/core/domain/refresh-message.js';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import { refreshDueToken } from '#shared/core/use-cases/refresh-due-token.js';
import type { RefreshDeps } from '#shared/core/use-cases/refresh-token-set.js';
import { queueHandler } from '#shared/edge/queue-handler.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface RefreshWorkerDeps {
  readonly refresh: RefreshDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/**
 * Consumes the refresh queue (SQS event source mapping, batches of up to 10 refreshed at once): each
 * message is one due token set through the refresh path, as the sweep runs it. A refresh that failed
 * and was recorded (its retry time is in the due index) is done; one that crashed before any write, or
 * whose pair had to be parked, goes back to the queue and, after the receive limit, to the dead-letter
 * queue (alarmed). A second message for the same token set finds it no longer due or its lease held.
 */
export function makeRefreshWorker(deps: RefreshWorkerDeps) {
  const { refresh, logger, metrics } = deps;
  return queueHandler(
    async (record) => {
      let request: QueuedRefresh;
      try {
        request = decodeRefreshMessage(record.body);
      } catch (error) {
        // No retry can mend it; the dispatcher never writes such a message.
        logger.error('refresh message dropped', { messageId: record.messageId, error });
        return 'done';
      }
      const outcome = await refreshDueToken({ memberId: request.memberId, userId: request.userId }, refresh);
      if (outcome.kind === 'lease_held') metrics.count(METRIC_NAMES.sweepLeaseHeld);
      return outcome.kind === 'failed' && outcome.retry ? 'retry' : 'done';
    },
    { logger, metrics },
  );
}

export const handler = makeRefreshWorker(wire(loadConfig()));
