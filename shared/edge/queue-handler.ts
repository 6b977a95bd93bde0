import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { flushMetrics } from './flush-metrics.js';

/** What became of one record: `retry` hands it back to the queue. */
export type RecordVerdict = 'done' | 'retry';

/** Thrown for a record to be handed back: Powertools Batch Processing reports a record that threw. */
class RecordRetryError extends Error {
  constructor(messageId: string) {
    super(`record ${messageId} handed back to the queue`);
    this.name = 'RecordRetryError';
  }
}

/**
 * Wraps a consumer of an SQS event source mapping (`reportBatchItemFailures` on): each record goes to
 * `handleRecord`, all of a batch at once (Powertools Batch Processing); a record answered `retry` (or
 * whose handler throws) is reported as a batch item failure, so SQS delivers it again after its visibility timeout and, past
 * the queue's receive limit, moves it to its dead-letter queue. The others are deleted. A batch whose
 * every record failed is answered the same way rather than thrown, so it is not counted as a function
 * error twice.
 *
 * @example
 * export const handler = queueHandler(async (record) => ((await work(record.body)) ? 'done' : 'retry'), { logger, metrics });
 */
export function queueHandler(
  handleRecord: (record: SQSRecord) => Promise<RecordVerdict>,
  observability: { readonly logger: Logger; readonly metrics: MetricsRecorder },
) {
  const processor = new BatchProcessor(EventType.SQS);
  const handle = async (record: SQSRecord): Promise<void> => {
    if ((await handleRecord(record)) === 'retry') throw new RecordRetryError(record.messageId);
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(flushMetrics(observability.metrics))
    .handler(async (event: SQSEvent, context: Context) =>
      processPartialResponse(event, handle, processor, { context, throwOnFullBatchFailure: false }),
    );
}
