import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { flushMetrics } from './flush-metrics.js';

/**
 * Wraps a background function (EventBridge Scheduler invokes it asynchronously; an event source
 * mapping such as a table stream, synchronously): the Lambda context in every log line, metrics
 * published at the end. A scheduled job ignores the event; a stream job reads it.
 *
 * @example
 * export const handler = scheduledHandler(async (context) => sweep(context), { logger, metrics });
 */
export function scheduledHandler<T>(
  job: (context: Context, event: unknown) => Promise<T>,
  observability: { readonly logger: Logger; readonly metrics: MetricsRecorder },
) {
  return middy<unknown, T>()
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(flushMetrics(observability.metrics))
    .handler(async (event: unknown, context: Context) => job(context, event));
}
