import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { flushMetrics } from './flush-metrics.js';

/**
 * Wraps a scheduled function (EventBridge Scheduler invokes it asynchronously; the event carries
 * nothing the job needs): the Lambda context in every log line, metrics published at the end.
 *
 * @example
 * export const handler = scheduledHandler(async (context) => sweep(context), { logger, metrics });
 */
export function scheduledHandler<T>(
  job: (context: Context) => Promise<T>,
  observability: { readonly logger: Logger; readonly metrics: MetricsRecorder },
) {
  return middy<unknown, T>()
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(flushMetrics(observability.metrics))
    .handler(async (_event: unknown, context: Context) => job(context));
}
