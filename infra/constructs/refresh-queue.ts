import { Duration, Validations } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface RefreshQueueProps {
  /** Where a message goes after `maxReceiveCount` failed deliveries (an alarmed queue). */
  readonly deadLetterQueue: IQueue;
  /** Deliveries of one message before it moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Timeout of the consuming function: the visibility timeout is six times it, as Lambda advises. */
  readonly consumerTimeout: Duration;
  /**
   * How long an unread message is kept. A key whose message expires is still due in the index, so the
   * next dispatch sends it again. @default Duration.hours(1)
   */
  readonly retentionPeriod?: Duration;
  /** Name of the environment variable `bindSender` sets. @default 'REFRESH_QUEUE_URL' */
  readonly queueUrlEnvironmentVariable?: string;
}

/** How the refresh workers take messages from the queue. */
export interface RefreshConsumerOptions {
  /**
   * Worker invocations at once (the event source mapping's maximum concurrency, 2–1000): with batches
   * of 10 refreshed together it bounds the refreshes in flight at 10× this. @default 10
   */
  readonly maxConcurrency?: number;
  /** Messages per invocation. @default 10 */
  readonly batchSize?: number;
}

/**
 * The refresh queue between the dispatcher and the refresh workers (docs/adr/0008-refresh-fan-out-on-sqs.md):
 * a standard SQS queue (keys and due times only, no token: SQS-managed encryption), TLS only, a redrive
 * policy to the alarmed dead-letters queue. The workers consume it through an event source mapping
 * with partial batch responses and a maximum concurrency.
 *
 * @example
 * const queue = new RefreshQueue(this, 'RefreshQueue', { deadLetterQueue, consumerTimeout: worker.timeout });
 * queue.bindSender(dispatcher);
 * queue.consumeWith(worker, { maxConcurrency: 20 });
 */
export class RefreshQueue extends Construct {
  readonly queue: Queue;
  private readonly envName: string;

  constructor(scope: Construct, id: string, props: RefreshQueueProps) {
    super(scope, id);
    this.envName = props.queueUrlEnvironmentVariable ?? 'REFRESH_QUEUE_URL';
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      retentionPeriod: props.retentionPeriod ?? Duration.hours(1),
      deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }

  /** Sets the queue URL variable and grants sending (`sqs:SendMessage`, which covers batches). */
  bindSender(fn: LambdaFunction): void {
    fn.addEnvironment(this.envName, this.queue.queueUrl);
    this.queue.grantSendMessages(fn);
  }

  /**
   * Makes `fn` the queue's consumer: an event source mapping with partial batch responses
   * (`reportBatchItemFailures`) and a maximum concurrency; grants receiving and deleting.
   */
  consumeWith(fn: LambdaFunction, options: RefreshConsumerOptions = {}): void {
    const source = new SqsEventSource(this.queue, {
      batchSize: options.batchSize ?? 10,
      maxConcurrency: options.maxConcurrency ?? 10,
      reportBatchItemFailures: true,
    });
    fn.addEventSource(source);
    const mapping = fn.node.tryFindChild(`SqsEventSource:${this.node.addr}`) ?? fn.node.children.at(-1);
    if (mapping !== undefined) {
      Validations.of(mapping).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'An SQS event source mapping takes no on-failure destination (streams and Kafka do): a message that keeps ' +
          "failing moves to the queue's dead-letter queue through its redrive policy, which is alarmed.",
      });
    }
  }
}
