import type { Logger } from '@aws-lambda-powertools/logger';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import { finishParkedEvents } from '#shared/core/use-cases/finish-parked-events.js';
import type { RegisterInstallationDeps } from '#shared/core/use-cases/register-installation.js';
import { scheduledHandler } from '#shared/edge/scheduled-handler.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

/** Time kept back from the Lambda timeout for the last attempt and the summary. */
const SAFETY_MARGIN_MS = 10_000;

export interface ProcessParkedEventsDeps {
  readonly lifecycle: RegisterInstallationDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** Scheduled (EventBridge): finishes install claims parked while the authorization server was down. */
export function makeProcessParkedEvents(deps: ProcessParkedEventsDeps) {
  const { lifecycle, logger, metrics } = deps;
  return scheduledHandler(
    async (context) => {
      const deadline = lifecycle.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
      const summary = await finishParkedEvents(lifecycle, { deadline });
      logger.info('parked install claims processed', { ...summary });
      metrics.count(METRIC_NAMES.parkedEventsFinished, summary.finished);
      metrics.count(METRIC_NAMES.parkedEventsDropped, summary.dropped);
      metrics.count(METRIC_NAMES.parkedEventsBacklog, summary.backlog);
      return summary;
    },
    { logger, metrics },
  );
}

export const handler = makeProcessParkedEvents(wire(loadConfig()));
