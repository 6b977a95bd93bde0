import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { PowertoolsMetricsRecorder } from '#shared/adapters/powertools-metrics-recorder.js';
import { METRIC_NAMES } from '#shared/core/ports/metric-names.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics-recorder.js';
import { type FinishParkedEventsSummary, finishParkedEvents } from '#shared/core/use-cases/finish-parked-events.js';
import type { RegisterInstallationDeps } from '#shared/core/use-cases/register-installation.js';
import { loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { metrics } from '#shared/runtime/metrics.js';
import { lifecycleDependencies } from '#shared/runtime/wiring.js';

/** Time kept back from the Lambda timeout for the last attempt and the summary. */
const SAFETY_MARGIN_MS = 10_000;

/** Scheduled (EventBridge): finishes install claims parked while the authorization server was down. */
export function processParkedEventsHandler(
  deps: RegisterInstallationDeps,
  recorder: MetricsRecorder = new PowertoolsMetricsRecorder(metrics),
) {
  return middy<unknown, FinishParkedEventsSummary>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (_event: unknown, context: Context) => {
      const deadline = deps.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
      const summary = await finishParkedEvents(deps, { deadline });
      logger.info('parked install claims processed', { ...summary });
      recorder.count(METRIC_NAMES.parkedEventsFinished, summary.finished);
      recorder.count(METRIC_NAMES.parkedEventsDropped, summary.dropped);
      recorder.count(METRIC_NAMES.parkedEventsBacklog, summary.backlog);
      return summary;
    });
}

const config = loadConfig();
export const handler = processParkedEventsHandler(lifecycleDependencies(config));
