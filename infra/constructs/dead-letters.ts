import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLettersProps {
  /** How long a failed delivery stays in the queue for an operator to read. @default Duration.days(14) */
  readonly retentionPeriod?: Duration;
}

/**
 * One SQS queue for everything the service could not deliver or finish asynchronously: a scheduled
 * invocation EventBridge Scheduler could not deliver, a scheduled run that failed (Lambda's on-failure
 * destination: request, response and error), a notification EventBridge could not hand to the topic,
 * a mail SNS could not deliver, a refresh message the workers failed on five times (the refresh
 * queue's redrive policy: the token set stays due and the next dispatch sends it again). `Alarms` raises an alarm as soon as it holds a message; docs/DEPLOY.md
 * says how to read it.
 *
 * @example
 * const deadLetters = new DeadLetters(this, 'DeadLetters');
 * new TokenRefreshSchedule(this, 'Schedules', { dispatchRefreshes, processParkedEvents, failures: deadLetters.queue });
 */
export class DeadLetters extends Construct {
  readonly queue: Queue;

  constructor(scope: Construct, id: string, props: DeadLettersProps = {}) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      // SQS-managed keys: Lambda, EventBridge, Scheduler and SNS can send without a key policy of ours,
      // and the messages (schedule payloads, token-status events without tokens) hold no credentials.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
    });
    const reason =
      'This queue is itself the dead-letter queue of the service: nothing consumes it automatically, an operator ' +
      'reads it after its alarm, so there is no further queue to redrive to.';
    Validations.of(this.queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
    Validations.of(this.queue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason });
  }
}
