import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { type Grant, type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFICATION_SOURCE, TOKEN_STATUS_DETAIL_TYPE } from '#shared/adapters/eventbridge-notification-publisher.js';
import type { TokenStatusEvent } from '#shared/core/ports/notification-publisher.js';

/**
 * Token-status events that need a person: the portal must authorize again, pay, or our client
 * credentials are wrong (every portal fails), or a refreshed pair could not be stored.
 */
export const ATTENTION_EVENTS: readonly TokenStatusEvent[] = [
  'reauth_required',
  'payment_required',
  'invalid_client',
  'lost_write',
];

export interface NotificationsProps {
  /** Events routed to the topic, one rule each. @default ATTENTION_EVENTS */
  readonly attentionEvents?: readonly TokenStatusEvent[];
  /** Create the SNS topic the attention rules and the alarms send to. @default true */
  readonly createTopic?: boolean;
  /** Subscribe this address to the topic (it must confirm the subscription mail). @default - no subscription */
  readonly email?: string;
  /** Key of the topic. @default - a new customer-managed key with rotation */
  readonly topicKey?: IKey;
  /** Name of the environment variable `bind` sets. @default 'EVENT_BUS_NAME' */
  readonly busNameEnvironmentVariable?: string;
  /**
   * Where an attention event goes that EventBridge could not hand to the topic, and a mail SNS could
   * not deliver. @default - none (undeliverable notifications are dropped after the services' retries)
   */
  readonly deadLetterQueue?: IQueue;
}

/**
 * Where token-status transitions go: a custom EventBridge bus (publishers get `events:PutEvents` on it
 * and nothing else), rules that pick the events needing a person, and an optional encrypted SNS topic
 * they (and the alarms) send to. docs/DEPLOY.md shows how to route the topic to email, Slack or Telegram.
 *
 * @example
 * const notifications = new Notifications(this, 'Notifications', { email: 'ops@example.com' });
 * notifications.bind(refreshFunction);
 */
export class Notifications extends Construct {
  readonly bus: EventBus;
  readonly topic?: ITopic;
  /** Key of the topic, when there is one. */
  readonly topicKey?: IKey;
  private readonly rules = new Map<TokenStatusEvent, Rule>();
  private readonly envName: string;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    this.envName = props.busNameEnvironmentVariable ?? 'EVENT_BUS_NAME';
    this.bus = new EventBus(this, 'Bus', { description: 'Bitrix24 token status changes' });

    if (props.createTopic ?? true) {
      const key =
        props.topicKey ??
        new Key(this, 'TopicKey', {
          description: 'Encrypts the Bitrix24 token service notification topic',
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.DESTROY,
          pendingWindow: Duration.days(7),
        });
      // CloudWatch alarms and EventBridge publish to an encrypted topic with the key of the topic.
      key.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowAlarmsAndRulesToPublish',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com'), new ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      );
      const topic = new Topic(this, 'Topic', {
        displayName: 'Bitrix24 token service',
        masterKey: key,
        enforceSSL: true,
      });
      if (props.email !== undefined) {
        topic.addSubscription(new EmailSubscription(props.email, { deadLetterQueue: props.deadLetterQueue }));
      }
      this.topic = topic;
      this.topicKey = key;
    }

    for (const event of props.attentionEvents ?? ATTENTION_EVENTS) {
      const rule = new Rule(this, `${pascal(event)}Rule`, {
        eventBus: this.bus,
        description: `Token status event ${event}`,
        eventPattern: {
          source: [NOTIFICATION_SOURCE],
          detailType: [TOKEN_STATUS_DETAIL_TYPE],
          detail: { event: [event] },
        },
      });
      if (this.topic !== undefined) {
        rule.addTarget(new SnsTopic(this.topic, { deadLetterQueue: props.deadLetterQueue }));
      } else {
        Validations.of(rule).acknowledge({
          id: 'Serverless-EventBusDLQ',
          reason:
            'Without a topic the rule has no target, so nothing is delivered that could fail; it stays for its ' +
            'MatchedEvents metric (the reauth_required alarm). (The cdk-nag rule cannot evaluate a rule without targets.)',
        });
      }
      this.rules.set(event, rule);
    }
  }

  /** `events:PutEvents` on this bus only. */
  grantPublish(grantee: IGrantable): Grant {
    return this.bus.grantPutEventsTo(grantee);
  }

  /** Grants publishing and sets `EVENT_BUS_NAME`. */
  bind(fn: LambdaFunction): void {
    fn.addEnvironment(this.envName, this.bus.eventBusName);
    this.grantPublish(fn);
  }

  /** How many `event` notifications the bus received (the rule's `MatchedEvents`); undefined without a rule. */
  metricEvents(event: TokenStatusEvent, period = Duration.hours(1)): Metric | undefined {
    const rule = this.rules.get(event);
    if (rule === undefined) return undefined;
    return new Metric({
      namespace: 'AWS/Events',
      metricName: 'MatchedEvents',
      // Rules on a custom bus report with both dimensions.
      dimensionsMap: { EventBusName: this.bus.eventBusName, RuleName: rule.ruleName },
      statistic: 'Sum',
      period,
    });
  }
}

function pascal(text: string): string {
  return text
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
