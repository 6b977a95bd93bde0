import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { flushMetrics } from './flush-metrics.js';
import { toHttpError } from './to-http-error.js';

export type HttpFunction = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** What every HTTP function reports through. */
export interface HttpObservability {
  readonly logger: Logger;
  /** Published after each invocation when given. */
  readonly metrics?: MetricsRecorder | undefined;
}

/**
 * Wraps an API Gateway (HTTP API, payload v2) function with the house middleware: lower-case headers,
 * the Lambda context in every log line, and one error translation (`toHttpError`) so no internal
 * message or secret reaches a response. Errors of 5xx are logged here with their cause.
 *
 * @example
 * export const handler = httpHandler(async (event) => json(200, { ok: true }), { logger });
 */
export function httpHandler(fn: HttpFunction, observability: HttpObservability) {
  const { logger, metrics } = observability;
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer());
  if (metrics !== undefined) handler.use(flushMetrics(metrics));
  return (
    handler
      .use(httpErrorHandler({ logger: false }))
      // onError hooks run in reverse order: this translation runs before httpErrorHandler renders.
      .use({
        onError: (request) => {
          const error = toHttpError(request.error);
          if (error.statusCode >= 500) logger.error('request failed', { error: error.cause });
          else
            logger.warn('request refused', {
              status: error.statusCode,
              route: request.event.routeKey,
              body: error.message,
            });
          request.error = error;
        },
      })
      .handler(fn)
  );
}
