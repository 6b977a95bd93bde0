import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type SweepSummary, sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { metrics } from '#shared/runtime/metrics.js';
import { refreshDependencies } from '#shared/runtime/wiring.js';

const config = loadConfig();
const deps = refreshDependencies(config);
// No refresh starts in the last seconds of the invocation: a refresh cut off by the timeout would be
// an interrupted one (lease left behind, maybe a spent token).
const marginMs = config.REFRESH_SWEEP_MARGIN_SECONDS * 1000;

/**
 * EventBridge Scheduler target (every 5 minutes): one sweep of the due index. The scheduled event
 * carries nothing the sweep needs; the summary is logged, published as metrics and returned.
 */
export const handler = middy<unknown, SweepSummary>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (_event: unknown, context: Context) =>
    sweepDueTokens(
      {
        remainingMs: () => context.getRemainingTimeInMillis() - marginMs,
        concurrency: config.REFRESH_SWEEP_CONCURRENCY,
        maxKeys: config.REFRESH_SWEEP_MAX_KEYS,
      },
      deps,
    ),
  );
