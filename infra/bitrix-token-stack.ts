import { Annotations, CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IPrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '#shared/adapters/dynamodb/table-schema.js';
import { TokenConsumerAccess } from '#shared/consumer/cdk/token-consumer-access.js';
import { METRICS_NAMESPACE } from '#shared/core/ports/metrics.js';
import { loadConfig } from '#shared/runtime/config.js';
import { Alarms } from './constructs/alarms.js';
import { AppFunction } from './constructs/app-function.js';
import { ClientCredentials } from './constructs/client-credentials.js';
import { ConsumerParameters } from './constructs/consumer-parameters.js';
import { DeadLetters } from './constructs/dead-letters.js';
import { Notifications } from './constructs/notifications.js';
import { OAuthHttpApi, type RouteName, type RouteThrottle } from './constructs/oauth-http-api.js';
import { type RefreshConsumerOptions, RefreshQueue } from './constructs/refresh-queue.js';
import { TokenRefreshSchedule } from './constructs/token-refresh-schedule.js';
import { TokenTable } from './constructs/token-table.js';
import {
  CONSUMER_SETTING_AREAS,
  type CoreFunctionName,
  checkSettings,
  FUNCTIONS,
  type FunctionName,
  type FunctionSpec,
  type Settings,
  settingsEnvironment,
  timeoutOf,
} from './function-catalog.js';

export interface BitrixTokenStackProps extends StackProps {
  /** Operator values of `shared/runtime/config.ts` settings; each reaches only the functions that read it. @default {} */
  readonly settings?: Settings;
  /**
   * The Bitrix24 app's client id (`local.….…` or `app.….…`; public, it is in every authorize URL). It
   * reaches `oauth-start` as `BITRIX_CLIENT_ID`, so that function needs no access to the secret. Put
   * the same id into the secret. @default - none: `/oauth/start` answers 500 until it is set (a synth
   * warning says so)
   */
  readonly clientId?: string;
  /** Name or complete ARN of an existing credentials secret. @default - a new secret to fill in */
  readonly existingCredentialsSecret?: string;
  /** Email subscribed to the notification topic. @default - none (subscribe later, see docs/DEPLOY.md) */
  readonly notificationEmail?: string;
  /** Create the SNS topic for attention events and alarms. @default true */
  readonly notificationTopic?: boolean;
  /**
   * `POWERTOOLS_SERVICE_NAME`, the `service` metric dimension and the `service` tag of every resource.
   * @default 'bitrix24-token-service'
   */
  readonly serviceName?: string;
  /** `POWERTOOLS_METRICS_NAMESPACE`. @default METRICS_NAMESPACE ('Bitrix24TokenService') */
  readonly metricsNamespace?: string;
  /** `POWERTOOLS_LOG_LEVEL`. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Token table and its key on stack deletion. @default RemovalPolicy.RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** How often the dispatcher hands due token sets to the refresh workers. @default Duration.minutes(5) */
  readonly refreshInterval?: Duration;
  /**
   * How the refresh workers consume the refresh queue: maximum concurrency of the event source mapping
   * and batch size (docs/CAPACITY.md sizes them). @default { maxConcurrency: 10, batchSize: 10 }
   */
  readonly refreshWorkers?: RefreshConsumerOptions;
  /**
   * A custom domain for the API (`bitrix.example.com`), so the URLs pasted into Bitrix24 survive a new
   * stack. Needs `certificateArn`. @default - none: the execute-api address
   */
  readonly domainName?: string;
  /** ARN of an ACM certificate for `domainName` in the stack's region. @default - none */
  readonly certificateArn?: string;
  /**
   * Route 53 zone of `domainName` (`{ id, name }`): the stack adds the alias record.
   * @default - none: add a CNAME to the `CustomDomainTarget` output at your DNS provider
   */
  readonly hostedZone?: { readonly id: string; readonly name: string };
  /** Throttles of single routes (`oauthStart`, `oauthCallback`, `events`, `install`). @default DEFAULT_ROUTE_THROTTLES */
  readonly routeThrottles?: Partial<Record<RouteName, RouteThrottle>>;
  /** Deploy the example consumer (`functions/example-consumer.ts`). @default false */
  readonly exampleConsumer?: boolean;
  /**
   * Prefix of the SSM parameters consumers in other CDK apps read (`TokenConsumerAccess.fromParameters`).
   * A second deployment in the same account and region needs its own. @default '/bitrix24-token-service'
   */
  readonly consumerParameterPrefix?: string;
}

/** The functions of a deployment; the example consumer only when asked for. */
export type StackFunctions = Readonly<Record<CoreFunctionName, AppFunction>> & {
  readonly exampleConsumer?: AppFunction | undefined;
};

/**
 * The whole Bitrix24 token service: token table, client credentials, notifications, the dead-letters
 * queue, the refresh queue, the functions (the token vendor among them), the HTTP API, the schedules, the alarms, and the
 * parameters consumers of other apps read. Composition only; each concern is a construct.
 *
 * @example
 * const service = new BitrixTokenStack(app, 'Bitrix24TokenService');
 * service.grantConsumer(myFunction); // a Lambda of yours in the same app that calls Bitrix24
 */
export class BitrixTokenStack extends Stack {
  readonly tokens: TokenTable;
  readonly credentials: ClientCredentials;
  readonly notifications: Notifications;
  readonly deadLetters: DeadLetters;
  /** Due token sets on their way from the dispatcher to the refresh workers. */
  readonly refreshQueue: RefreshQueue;
  readonly functions: StackFunctions;
  /** What a consumer Lambda is granted and given (`grantConsumer`). */
  readonly consumerAccess: TokenConsumerAccess;
  readonly consumerParameters: ConsumerParameters;
  readonly api: OAuthHttpApi;
  readonly schedules: TokenRefreshSchedule;
  readonly alarms: Alarms;
  private readonly settings: Settings;

  constructor(scope: Construct, id: string, props: BitrixTokenStackProps = {}) {
    super(scope, id, {
      description: 'Bitrix24 token service: keeps Bitrix24 OAuth tokens alive',
      ...props,
    });
    this.settings = props.settings ?? {};
    checkSettings(this.settings);
    // The same parser the functions run at cold start: a bad value fails here, before a deploy.
    const config = loadConfig(this.settings);

    const clientId = checkClientId(props.clientId);
    checkCustomDomain(props);
    const serviceName = props.serviceName ?? 'bitrix24-token-service';
    const metricsNamespace = props.metricsNamespace ?? METRICS_NAMESPACE;
    const refreshInterval = props.refreshInterval ?? Duration.minutes(5);

    this.tokens = new TokenTable(this, 'Tokens', { removalPolicy: props.tableRemovalPolicy });
    this.credentials = new ClientCredentials(this, 'ClientCredentials', {
      existingSecret: props.existingCredentialsSecret,
      encryptionKey: props.existingCredentialsSecret === undefined ? this.tokens.encryptionKey : undefined,
    });
    this.deadLetters = new DeadLetters(this, 'DeadLetters');
    this.notifications = new Notifications(this, 'Notifications', {
      createTopic: props.notificationTopic,
      email: props.notificationEmail,
      deadLetterQueue: this.deadLetters.queue,
    });

    this.refreshQueue = new RefreshQueue(this, 'RefreshQueue', {
      deadLetterQueue: this.deadLetters.queue,
      consumerTimeout: timeoutOf(FUNCTIONS.refreshWorker, config),
    });

    const byId: Record<string, AppFunction> = {};
    const build = (name: FunctionName): AppFunction => {
      const spec: FunctionSpec = FUNCTIONS[name];
      const fn = new AppFunction(this, spec.id, {
        entry: spec.entry,
        description: spec.description,
        timeout: timeoutOf(spec, config),
        memorySize: spec.memorySize,
        invokedBy: spec.invokedBy,
        serviceName,
        metricsNamespace,
        logLevel: props.logLevel,
      });
      byId[spec.id] = fn;
      if (spec.tokens === 'consumer') {
        this.grantConsumer(fn);
        return fn;
      }
      for (const [variable, value] of Object.entries(settingsEnvironment(spec.settings, this.settings))) {
        fn.addEnvironment(variable, value);
      }
      this.tokens.bind(fn, spec.tokens);
      if (spec.clientCredentials) this.credentials.bind(fn);
      if (spec.clientId) {
        if (clientId === undefined) {
          Annotations.of(fn).addWarningV2(
            'bitrix24:clientIdMissing',
            `clientId is not set: ${spec.entry} cannot build authorize URLs until the stack is deployed with ` +
              "-c clientId=<the app's client id> (docs/DEPLOY.md §4)",
          );
        } else {
          fn.addEnvironment('BITRIX_CLIENT_ID', clientId);
        }
      }
      if (spec.notifications) this.notifications.bind(fn);
      if (spec.refreshQueue === 'send') {
        this.refreshQueue.bindSender(fn);
        // The rate budget is per interval: the dispatcher must know the schedule's.
        fn.addEnvironment('REFRESH_DISPATCH_INTERVAL_SECONDS', String(refreshInterval.toSeconds()));
      }
      if (spec.refreshQueue === 'consume') this.refreshQueue.consumeWith(fn, props.refreshWorkers);
      return fn;
    };
    // The vendor first: consumers are granted access to it.
    const tokenVendor = build('tokenVendor');
    this.consumerAccess = new TokenConsumerAccess(this, 'ConsumerAccess', {
      tableName: this.tokens.table.tableName,
      tableArn: this.tokens.table.tableArn,
      tableKeyArn: this.tokens.encryptionKey.keyArn,
      vendorFunctionArn: tokenVendor.functionArn,
    });
    this.consumerParameters = new ConsumerParameters(this, 'ConsumerParameters', {
      prefix: props.consumerParameterPrefix,
      tableName: this.tokens.table.tableName,
      tableArn: this.tokens.table.tableArn,
      tableKeyArn: this.tokens.encryptionKey.keyArn,
      vendorFunctionArn: tokenVendor.functionArn,
    });
    // Every name of the catalog, checked by the type: a function added there must be added here.
    this.functions = {
      oauthStart: build('oauthStart'),
      oauthCallback: build('oauthCallback'),
      appEvents: build('appEvents'),
      installPage: build('installPage'),
      dispatchRefreshes: build('dispatchRefreshes'),
      refreshWorker: build('refreshWorker'),
      processParkedEvents: build('processParkedEvents'),
      tokenVendor,
      exampleConsumer: props.exampleConsumer === true ? build('exampleConsumer') : undefined,
    };

    this.api = new OAuthHttpApi(this, 'Api', {
      oauthStart: this.functions.oauthStart,
      oauthCallback: this.functions.oauthCallback,
      appEvents: this.functions.appEvents,
      installPage: this.functions.installPage,
      routeThrottles: props.routeThrottles,
      domainName: props.domainName,
      certificate:
        props.certificateArn === undefined
          ? undefined
          : Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      hostedZone:
        props.hostedZone === undefined
          ? undefined
          : HostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
              hostedZoneId: props.hostedZone.id,
              zoneName: props.hostedZone.name,
            }),
    });
    this.tokens.streamParkedClaimsTo(this.functions.processParkedEvents, { onFailure: this.deadLetters.queue });
    this.schedules = new TokenRefreshSchedule(this, 'Schedules', {
      dispatchRefreshes: this.functions.dispatchRefreshes,
      processParkedEvents: this.functions.processParkedEvents,
      refreshInterval,
      failures: this.deadLetters.queue,
    });
    // Names an operator needs after the deploy (put the secret value, point the ops CLI at the table).
    output(this, 'TokenTableName', this.tokens.table.tableName, 'Token table (ops CLI: --table)');
    output(
      this,
      'ClientCredentialsSecretId',
      this.credentials.secretId,
      'Secret to put {"clientId","clientSecret"} into',
    );
    output(this, 'EventBusName', this.notifications.bus.eventBusName, 'EventBridge bus of token status changes');
    output(
      this,
      'DeadLettersQueueUrl',
      this.deadLetters.queue.queueUrl,
      'What could not be delivered or failed asynchronously (read it after its alarm)',
    );
    output(this, 'TokenVendorArn', tokenVendor.functionArn, 'Token vendor: consumers call it with Lambda Invoke');
    output(
      this,
      'ConsumerParameterPrefix',
      this.consumerParameters.prefix,
      'SSM prefix TokenConsumerAccess.fromParameters reads',
    );
    if (this.notifications.topic !== undefined) {
      output(
        this,
        'NotificationTopicArn',
        this.notifications.topic.topicArn,
        'SNS topic of attention events and alarms',
      );
    }

    this.alarms = new Alarms(this, 'Alarms', {
      functions: byId,
      dispatchRefreshes: this.functions.dispatchRefreshes,
      refreshQueue: this.refreshQueue.queue,
      refreshInterval,
      overdueThreshold: Duration.seconds(
        Math.max(60, config.REFRESH_ACCESS_LEAD_MINUTES * 60 - refreshInterval.toSeconds()),
      ),
      callsPerSecondCeiling: config.REFRESH_CALLS_PER_SECOND,
      api: this.api.httpApi,
      reauthRequired: this.notifications.metricEvents('reauth_required'),
      topic: this.notifications.topic,
      metricsNamespace,
      serviceName,
      deadLetters: this.deadLetters.queue,
      table: { table: this.tokens.table, indexNames: [TABLE_SCHEMA.dueIndex.name] },
    });

    // Every taggable resource: `service` and `component` (the concern) for cost allocation; functions
    // tag themselves, their role and their log group with their own name.
    Tags.of(this).add('service', serviceName);
    const components: [Construct, string][] = [
      [this.tokens, 'token-store'],
      [this.credentials, 'credentials'],
      [this.notifications, 'notifications'],
      [this.consumerAccess, 'consumer-access'],
      [this.consumerParameters, 'consumer-parameters'],
      [this.deadLetters, 'dead-letters'],
      [this.refreshQueue, 'refresh-queue'],
      [this.api, 'http-api'],
      [this.schedules, 'schedules'],
      [this.alarms, 'alarms'],
    ];
    for (const [construct, component] of components) Tags.of(construct).add('component', component);
  }

  /**
   * Makes a Lambda of this app (yours, or the example) a consumer: a reader of the portal items the
   * library needs — the refresh token and everything else stays unreadable — and a caller of the token
   * vendor (see `TokenConsumerAccess`); no secret, no writes, no EventBridge. Sets the library's
   * environment and the operator's values of the consumer settings. Lambdas of other apps use
   * `TokenConsumerAccess.fromParameters` from the package's `/cdk` entry instead.
   */
  grantConsumer(fn: LambdaFunction): void {
    for (const [variable, value] of Object.entries(settingsEnvironment(CONSUMER_SETTING_AREAS, this.settings))) {
      fn.addEnvironment(variable, value);
    }
    this.consumerAccess.bind(fn);
  }

  /**
   * Lets a principal of another account call the token vendor (a statement in the vendor's resource
   * policy); the caller's own account must allow `lambda:InvokeFunction` on it too. Such callers get
   * tokens only from the vendor: the table and its key stay in this account.
   */
  grantVendorInvoke(principal: IPrincipal): void {
    this.functions.tokenVendor.grantInvoke(principal);
  }
}

/** A Bitrix24 client id is one token of letters, digits, dots, underscores and hyphens. */
function checkClientId(clientId: string | undefined): string | undefined {
  if (clientId === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(clientId)) {
    throw new Error('clientId must be the Bitrix24 client id, e.g. local.6500f0c0a1b2c3.12345678');
  }
  return clientId;
}

/** A custom domain is a lower-case host name, its certificate a complete ACM certificate ARN. */
function checkCustomDomain(props: BitrixTokenStackProps): void {
  const host = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
  if (props.domainName !== undefined && !host.test(props.domainName)) {
    throw new Error(`domainName must be a lower-case host name such as bitrix.example.com, got ${props.domainName}`);
  }
  if (
    props.certificateArn !== undefined &&
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/.test(props.certificateArn)
  ) {
    throw new Error('certificateArn must be the ARN of an ACM certificate (arn:aws:acm:REGION:ACCOUNT:certificate/ID)');
  }
}

function output(stack: Stack, id: string, value: string, description: string): void {
  new CfnOutput(stack, id, { value, description });
}
