import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';

export interface AlarmsProps {
  /** Every function of the service, by a readable name: one error alarm each. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The refresh dispatcher (the scheduled half of the sweep). */
  readonly dispatchRefreshes: LambdaFunction;
  /** The dispatcher's schedule interval (an invocation is expected at least this often). */
  readonly refreshInterval: Duration;
  /**
   * The refresh queue: an alarm when its oldest message waits longer than `refreshQueueAgeThreshold`.
   * @default - no such alarm
   */
  readonly refreshQueue?: IQueue;
  /**
   * Age of the oldest message of the refresh queue that raises the alarm. A token set is due
   * REFRESH_ACCESS_LEAD_MINUTES (15) before its access token expires, and may wait one interval for
   * the dispatcher; past this it may expire before its refresh. @default Duration.minutes(5)
   */
  readonly refreshQueueAgeThreshold?: Duration;
  /**
   * How long the oldest due token set may have been due before the backlog alarm: a token set is due
   * REFRESH_ACCESS_LEAD_MINUTES before its access token expires, so past that lead less one interval
   * its access token may expire before the dispatcher's budget reaches it. @default - no such alarm
   */
  readonly overdueThreshold?: Duration;
  /** `REFRESH_CALLS_PER_SECOND`: an alarm when the app calls the authorization server faster. @default - no such alarm */
  readonly callsPerSecondCeiling?: number;
  /** The HTTP API (5xx alarm). @default - no API alarm */
  readonly api?: IHttpApi;
  /** `reauth_required` notifications (from `Notifications.metricEvents`). @default - no such alarm */
  readonly reauthRequired?: IMetric;
  /** Alarm actions go here. @default - alarms without actions */
  readonly topic?: ITopic;
  /** CloudWatch namespace of the custom metrics (POWERTOOLS_METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /** `service` dimension of the custom metrics (POWERTOOLS_SERVICE_NAME). */
  readonly serviceName: string;
  /** Failed refreshes (all categories) in 15 minutes that raise the alarm. @default 5 */
  readonly refreshFailureThreshold?: number;
  /** `reauth_required` transitions in an hour that raise the alarm (each one is also notified). @default 3 */
  readonly reauthRequiredThreshold?: number;
  /** Parked install claims still waiting, three runs in a row. @default 1 */
  readonly parkedEventsBacklogThreshold?: number;
  /** The dead-letters queue: an alarm as soon as it holds a message. @default - no such alarm */
  readonly deadLetters?: IQueue;
  /** The token table and its global secondary indexes: throttling alarms. @default - no table alarms */
  readonly table?: { readonly table: ITable; readonly indexNames: readonly string[] };
}

/**
 * The alarms an operator needs: refresh failures, a surge of `reauth_required`, the sweep failing,
 * running long, falling behind or not running, parked install claims not draining, any function
 * erroring, API 5xx, anything in the dead-letters queue, and DynamoDB throttling the table or its
 * index. Custom metric names come from `shared/core/ports/metrics.ts`.
 *
 * @example
 * new Alarms(this, 'Alarms', { functions, dispatchRefreshes, refreshInterval, metricsNamespace, serviceName, topic });
 */
export class Alarms extends Construct {
  readonly alarms: Alarm[] = [];
  private readonly action?: SnsAction;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    if (props.topic !== undefined) this.action = new SnsAction(props.topic);
    const custom = (metricName: string, statistic: string, period: Duration) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic,
        period,
      });

    // A metric published with one more dimension than `service`: a Metrics Insights query sums its values.
    const summed = (metricName: string, dimension: string, period: Duration, label: string) =>
      new MathExpression({
        expression:
          `SELECT SUM(${metricName}) FROM SCHEMA("${props.metricsNamespace}", ${dimension}, service) ` +
          `WHERE service = '${props.serviceName}'`,
        period,
        label,
      });

    this.add('RefreshFailures', {
      metric: summed(METRIC_NAMES.refreshFailed, 'category', Duration.minutes(15), 'Failed refreshes'),
      threshold: props.refreshFailureThreshold ?? 5,
      description:
        'Token refreshes keep failing (authorization server down, or chains dying). See the logs of refresh-worker.',
    });
    if (props.reauthRequired !== undefined) {
      this.add('ReauthRequiredSurge', {
        metric: props.reauthRequired,
        threshold: props.reauthRequiredThreshold ?? 3,
        description:
          'Several portals need to authorize again within an hour: look for a common cause (credentials, a refresh race).',
      });
    }
    this.add('SweepErrors', {
      metric: props.dispatchRefreshes.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 1,
      description: 'The refresh dispatcher itself failed (not a single portal: the whole run).',
    });
    const timeout = props.dispatchRefreshes.timeout;
    if (timeout !== undefined) {
      this.add('SweepDuration', {
        metric: props.dispatchRefreshes.metricDuration({ period: Duration.minutes(15), statistic: 'Maximum' }),
        threshold: Math.floor(timeout.toMilliseconds() * 0.8),
        description:
          'A dispatch used more than 80% of its timeout: raise the timeout, or lower REFRESH_SWEEP_MAX_KEYS and run it more often.',
      });
    }
    this.add('SweepBacklog', {
      metric: custom(METRIC_NAMES.sweepBacklog, 'Minimum', Duration.minutes(15)),
      threshold: 1,
      evaluationPeriods: 2,
      description:
        'Dispatches leave due token sets behind for 30 minutes: raise REFRESH_SWEEP_MAX_KEYS or run them more often.',
    });
    this.add('SweepNotRunning', {
      metric: props.dispatchRefreshes.metricInvocations({
        period: Duration.minutes(Math.max(15, props.refreshInterval.toMinutes() * 3)),
        statistic: 'Sum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
      description: 'The refresh dispatcher has not run for three intervals: check its schedule.',
    });
    if (props.refreshQueue !== undefined) {
      const threshold = props.refreshQueueAgeThreshold ?? Duration.minutes(5);
      this.add('RefreshQueueAge', {
        metric: props.refreshQueue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: threshold.toSeconds(),
        evaluationPeriods: 2,
        description:
          "Due token sets wait in the refresh queue longer than their access tokens can spare: raise the workers' " +
          'maximum concurrency (refreshWorkers), or look for a slow authorization server.',
      });
    }
    if (props.overdueThreshold !== undefined) {
      this.add('RefreshBacklogAge', {
        metric: custom(METRIC_NAMES.sweepOldestOverdue, 'Maximum', Duration.minutes(5)),
        threshold: props.overdueThreshold.toMilliseconds(),
        evaluationPeriods: 2,
        description:
          'Due token sets wait so long that access tokens may expire before their refresh: the call budget ' +
          '(REFRESH_CALLS_PER_SECOND) or the workers are below what the token sets need (docs/CAPACITY.md).',
      });
    }
    if (props.callsPerSecondCeiling !== undefined) {
      // Both kinds, sweep and on_demand.
      this.add('AuthServerCallsOverCeiling', {
        metric: summed(
          METRIC_NAMES.authServerCalls,
          'kind',
          Duration.minutes(1),
          'Calls to the authorization server per minute',
        ),
        threshold: Math.ceil(props.callsPerSecondCeiling * 60),
        evaluationPeriods: 5,
        description:
          'The app calls the authorization server faster than REFRESH_CALLS_PER_SECOND for 5 minutes: on-demand ' +
          'refreshes of waiting consumers beyond their share (they are never held back). Bitrix24 may block an app that does.',
      });
    }
    this.add('ParkedEventsBacklog', {
      metric: custom(METRIC_NAMES.parkedEventsBacklog, 'Minimum', Duration.minutes(5)),
      threshold: props.parkedEventsBacklogThreshold ?? 1,
      evaluationPeriods: 3,
      description: 'Install events stay parked: the authorization server has been unreachable or refuses them.',
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, {
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        description: `${name} threw (errors the function did not turn into a response).`,
      });
    }
    if (props.deadLetters !== undefined) {
      this.add('DeadLetters', {
        metric: props.deadLetters.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 1,
        description:
          'Something could not be delivered or a scheduled run failed: read the dead-letters queue (docs/DEPLOY.md).',
      });
    }
    if (props.table !== undefined) {
      const { table, indexNames } = props.table;
      const throttles = (metricName: string, index?: string) =>
        new Metric({
          namespace: 'AWS/DynamoDB',
          metricName,
          dimensionsMap:
            index === undefined
              ? { TableName: table.tableName }
              : { TableName: table.tableName, GlobalSecondaryIndexName: index },
          statistic: 'Sum',
          period: Duration.minutes(5),
        });
      const explain =
        'On-demand tables throttle only past their partition or table limits (a hot partition, a sudden ' +
        'multiple of the usual traffic); throttled refresh writes are retried and show as refresh failures.';
      this.add('TableReadThrottles', {
        metric: throttles('ReadThrottleEvents'),
        threshold: 1,
        description: `DynamoDB throttled reads of the token table. ${explain}`,
      });
      this.add('TableWriteThrottles', {
        metric: throttles('WriteThrottleEvents'),
        threshold: 1,
        description: `DynamoDB throttled writes to the token table. ${explain}`,
      });
      for (const index of indexNames) {
        const name = index.charAt(0).toUpperCase() + index.slice(1);
        this.add(`${name}IndexReadThrottles`, {
          metric: throttles('ReadThrottleEvents', index),
          threshold: 1,
          description: `DynamoDB throttled queries of the ${index} index (the sweep, parked claims). ${explain}`,
        });
        this.add(`${name}IndexWriteThrottles`, {
          metric: throttles('WriteThrottleEvents', index),
          threshold: 1,
          description: `DynamoDB throttled writes to the ${index} index, which hold back table writes. ${explain}`,
        });
      }
    }
    if (props.api !== undefined) {
      this.add('ApiServerErrors', {
        metric: props.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 5,
        description: 'The HTTP API answered 5xx: Bitrix24 does not resend events, so installs may be lost.',
      });
    }
  }

  private add(
    id: string,
    options: {
      readonly metric: IMetric;
      readonly threshold: number;
      readonly description: string;
      readonly evaluationPeriods?: number;
      readonly comparisonOperator?: ComparisonOperator;
      readonly treatMissingData?: TreatMissingData;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Custom metrics exist only when something happened: no data is good news.
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    if (this.action !== undefined) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
    this.alarms.push(alarm);
  }
}
