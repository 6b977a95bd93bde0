import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  errorAnswer,
  parseVendorRequest,
  type VendorAnswer,
  type VendorRequest,
} from '#shared/core/domain/vendor-contract.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { flushMetrics } from './flush-metrics.js';

/**
 * Wraps the token vendor (Lambda Invoke, any caller's SDK): the Lambda context in every log line,
 * metrics published at the end, the payload parsed against the contract, and every failure turned into
 * the contract's error answer — an invocation never fails with an unhandled error, so callers in any
 * language read one JSON shape. The payload itself is never logged.
 *
 * @example
 * export const handler = vendorHandler(async (request) => tokenAnswer(await vend(request)), { logger, metrics });
 */
export function vendorHandler(
  fn: (request: VendorRequest, context: Context) => Promise<VendorAnswer>,
  observability: { readonly logger: Logger; readonly metrics: MetricsRecorder },
) {
  const { logger } = observability;
  return middy<unknown, VendorAnswer>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics(observability.metrics))
    .handler(async (event: unknown, context: Context) => {
      try {
        const request = parseVendorRequest(event);
        logger.appendKeys({ memberId: request.memberId, action: request.action });
        return await fn(request, context);
      } catch (error) {
        const answer = errorAnswer(error);
        if (answer.error.code === 'internal') logger.error('vendor request failed', { error });
        else logger.info('vendor request refused', { code: answer.error.code, field: answer.error.field });
        return answer;
      }
    });
}
