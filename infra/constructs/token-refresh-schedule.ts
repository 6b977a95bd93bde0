import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Schedule, ScheduleExpression, TimeWindow } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface TokenRefreshScheduleProps {
  /** The dispatcher (`functions/dispatch-refreshes.ts`). */
  readonly dispatchRefreshes: IFunction;
  /** Finishes parked install claims (`functions/process-parked-events.ts`). */
  readonly processParkedEvents: IFunction;
  /**
   * How often the dispatcher runs. Must stay below REFRESH_ACCESS_LEAD_MINUTES (15 by default) so an
   * access token is renewed before its hour ends. @default Duration.minutes(5)
   */
  readonly refreshInterval?: Duration;
  /** How often parked claims are retried (their first retry is due after a minute). @default Duration.minutes(1) */
  readonly parkedEventsInterval?: Duration;
  /** Attempts EventBridge Scheduler makes to deliver one invocation (throttling, service errors). @default 2 */
  readonly retryAttempts?: number;
  /**
   * Where what could not run goes: invocations the scheduler could not deliver (its dead-letter queue)
   * and runs that failed or grew too old in Lambda's asynchronous queue (the on-failure destination).
   */
  readonly failures: IQueue;
}

/**
 * EventBridge Scheduler schedules for the two background jobs, and how their functions take the
 * asynchronous invocations. Each invocation may be delivered late by at most one interval, and is not
 * retried by Lambda: a later tick does the same work, so an older one is dropped. What is dropped, or
 * fails, goes to `failures` (an alarmed queue), never silently away.
 *
 * @example
 * new TokenRefreshSchedule(this, 'Schedules', { dispatchRefreshes, processParkedEvents, failures });
 */
export class TokenRefreshSchedule extends Construct {
  readonly refreshSchedule: Schedule;
  readonly parkedEventsSchedule: Schedule;

  constructor(scope: Construct, id: string, props: TokenRefreshScheduleProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    const refreshInterval = props.refreshInterval ?? Duration.minutes(5);
    const parkedInterval = props.parkedEventsInterval ?? Duration.minutes(1);
    // One role for both targets, so its grant is visible (and acknowledged) here.
    const role = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'EventBridge Scheduler: invokes the refresh dispatcher and the parked-events job',
    });

    this.refreshSchedule = new Schedule(this, 'DispatchRefreshes', {
      description: 'Refresh dispatcher: hands token sets whose due time has come to the refresh workers',
      schedule: ScheduleExpression.rate(refreshInterval),
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(props.dispatchRefreshes, {
        role,
        retryAttempts,
        maxEventAge: atLeastOneMinute(refreshInterval),
        deadLetterQueue: props.failures,
      }),
    });
    this.parkedEventsSchedule = new Schedule(this, 'ProcessParkedEvents', {
      description: 'Finishes install events parked while the authorization server was unreachable',
      schedule: ScheduleExpression.rate(parkedInterval),
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(props.processParkedEvents, {
        role,
        retryAttempts,
        maxEventAge: atLeastOneMinute(parkedInterval),
        deadLetterQueue: props.failures,
      }),
    });
    for (const [fn, interval] of [
      [props.dispatchRefreshes, refreshInterval],
      [props.processParkedEvents, parkedInterval],
    ] as const) {
      fn.configureAsyncInvoke({
        retryAttempts: 0,
        maxEventAge: atLeastOneMinute(interval),
        onFailure: new SqsDestination(props.failures),
      });
    }
    for (const fn of [props.dispatchRefreshes, props.processParkedEvents]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the function and its versions/aliases (`<arn>:*`), as CDK grants invoke; only these two functions.',
      });
    }
  }
}

/** Scheduler accepts a maximum event age of 60 s to 24 h, Lambda's asynchronous queue 60 s to 6 h. */
function atLeastOneMinute(interval: Duration): Duration {
  return Duration.seconds(Math.min(Math.max(interval.toSeconds(), 60), 21_600));
}

/** Logical id of a function defined in this app (`Fn::GetAtt [id, Arn]`), as cdk-nag names it in findings. */
function logicalIdOf(fn: IFunction): string {
  const resolved: unknown = Stack.of(fn).resolve(fn.functionArn);
  if (typeof resolved === 'object' && resolved !== null && 'Fn::GetAtt' in resolved) {
    const [id] = Array.isArray(resolved['Fn::GetAtt']) ? resolved['Fn::GetAtt'] : [];
    if (typeof id === 'string') return id;
  }
  throw new Error(`schedule target ${fn.node.path} is not a function of this app`);
}
