import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

export interface QueueEventSourceOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The consumer, as Lambda's event source mapping invokes it. */
  readonly handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
  /** Builds the context of one invocation. */
  readonly context: () => Context;
  /** `ScalingConfig.MaximumConcurrency`: invocations at once. @default 2 */
  readonly maxConcurrency?: number;
  /** `BatchSize`. @default 10 */
  readonly batchSize?: number;
  /** Long-poll wait of one receive. @default 1 */
  readonly waitSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

export interface QueueEventSource {
  /** Stops polling and waits for the invocations in progress (they hold leases: let them finish). */
  stop(): Promise<void>;
}

function recordOf(message: Message, queueUrl: string): SQSEvent['Records'][number] {
  const queueName = queueUrl.split('/').at(-1) ?? '';
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:local:000000000000:${queueName}`,
    awsRegion: 'local',
  };
}

/**
 * Lambda's SQS event source mapping for the local host and the tests: `maxConcurrency` pollers each
 * receive a batch, invoke the handler with an `SQSEvent`, and delete the records it did not report in
 * `batchItemFailures` (`ReportBatchItemFailures`); a thrown handler leaves the whole batch to
 * reappear after the visibility timeout. Speaks SQS through the SDK, so the queue may be the local
 * stand-in (`local/sqs-server.ts`) or a real one.
 *
 * @example
 * const source = startQueueEventSource({ client, queueUrl, handler: makeRefreshWorker(wiring), context });
 */
export function startQueueEventSource(options: QueueEventSourceOptions): QueueEventSource {
  let stopped = false;
  const poll = async (): Promise<void> => {
    while (!stopped) {
      try {
        const { Messages } = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          }),
        );
        if (Messages === undefined || Messages.length === 0) continue;
        const records = Messages.map((message) => recordOf(message, options.queueUrl));
        let failed: Set<string>;
        try {
          const answer = await options.handler({ Records: records }, options.context());
          failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          options.onError?.(error);
          continue;
        }
        const done = records.filter((r) => !failed.has(r.messageId));
        if (done.length > 0) {
          await options.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          );
        }
      } catch (error) {
        if (stopped) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const pollers = Array.from({ length: Math.max(1, options.maxConcurrency ?? 2) }, poll);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(pollers);
    },
  };
}
