import { Annotations, CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { HostedZone } from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '#shared/adapters/dynamodb/table-schema.js';
import { METRICS_NAMESPACE } from '#shared/core/ports/metrics.js';
import { loadConfig } from '#shared/runtime/config.js';
import { Alarms } from './constructs/alarms.js';
import { AppFunction } from './constructs/app-function.js';
import { ClientCredentials } from './constructs/client-credentials.js';
import { DeadLetters } from './constructs/dead-letters.js';
import { Notifications } from './constructs/notifications.js';
import { OAuthHttpApi, type RouteName, type RouteThrottle } from './constructs/oauth-http-api.js';
import { TokenRefreshSchedule } from './constructs/token-refresh-schedule.js';
import { TokenTable } from './constructs/token-table.js';
import {
  CONSUMER_SETTING_AREAS,
  checkSettings,
  FUNCTIONS,
  type FunctionName,
  type FunctionSpec,
  type Settings,
  settingsEnvironment,
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
  /** How often the refresh sweep runs. @default Duration.minutes(5) */
  readonly refreshInterval?: Duration;
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
}

/**
 * The whole Bitrix24 token service: token table, client credentials, notifications, the dead-letters
 * queue, the seven functions, the HTTP API, the schedules and the alarms. Composition only; each
 * concern is a construct.
 *
 * @example
 * const service = new BitrixTokenStack(app, 'Bitrix24TokenService');
 * service.grantConsumer(myFunction); // a Lambda of yours that calls Bitrix24
 */
export class BitrixTokenStack extends Stack {
  readonly tokens: TokenTable;
  readonly credentials: ClientCredentials;
  readonly notifications: Notifications;
  readonly deadLetters: DeadLetters;
  readonly functions: Readonly<Record<FunctionName, AppFunction>>;
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
    loadConfig(this.settings);

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

    const byId: Record<string, AppFunction> = {};
    const build = (name: FunctionName): AppFunction => {
      const spec: FunctionSpec = FUNCTIONS[name];
      const fn = new AppFunction(this, spec.id, {
        entry: spec.entry,
        description: spec.description,
        timeout: spec.timeout,
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
      return fn;
    };
    // Every name of the catalog, checked by the type: a function added there must be added here.
    this.functions = {
      oauthStart: build('oauthStart'),
      oauthCallback: build('oauthCallback'),
      appEvents: build('appEvents'),
      installPage: build('installPage'),
      refreshTokens: build('refreshTokens'),
      processParkedEvents: build('processParkedEvents'),
      exampleConsumer: build('exampleConsumer'),
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
      refreshTokens: this.functions.refreshTokens,
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
      refreshTokens: this.functions.refreshTokens,
      refreshInterval,
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
      [this.deadLetters, 'dead-letters'],
      [this.api, 'http-api'],
      [this.schedules, 'schedules'],
      [this.alarms, 'alarms'],
    ];
    for (const [construct, component] of components) Tags.of(construct).add('component', component);
  }

  /**
   * Gives a consumer Lambda (yours, or the example) exactly what the consumer library needs, in one
   * call: read and write the portal items of the token table through the refresh path (see
   * `TokenTable.grantConsumerTokens`), read the client credentials, publish status notifications; and
   * sets `TABLE_NAME`, `CLIENT_CREDENTIALS_SECRET_ID`, `EVENT_BUS_NAME` and the operator's values of the
   * refresh and consumer settings.
   */
  grantConsumer(fn: LambdaFunction): void {
    for (const [variable, value] of Object.entries(settingsEnvironment(CONSUMER_SETTING_AREAS, this.settings))) {
      fn.addEnvironment(variable, value);
    }
    this.tokens.bind(fn, 'consumer');
    this.credentials.bind(fn);
    this.notifications.bind(fn);
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
