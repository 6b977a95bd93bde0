import { CfnOutput, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  type CfnRoute,
  type CfnStage,
  DomainName,
  EndpointType,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ARecord, type IHostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** The public paths, as Bitrix24 and browsers reach them. */
export const ROUTES = {
  oauthStart: '/oauth/start',
  oauthCallback: '/oauth/callback',
  events: '/bitrix/events',
  install: '/bitrix/install',
} as const;

/**
 * Access log line: what happened, never the query string or a body (the callback's query carries the
 * authorization code and the state; event and install bodies carry tokens).
 */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
});

/** Steady requests per second and burst of one route (API Gateway's token bucket). */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export type RouteName = keyof typeof ROUTES;

/**
 * Each route's own budget, so a flood of one cannot spend another's: the anonymous start of the code
 * flow gets little (a person starts an authorization now and then, and every accepted request costs a
 * Lambda run and a DynamoDB write), Bitrix24's events the most (they are not resent, and an app update
 * sends ONAPPUPDATE from many portals at once).
 */
export const DEFAULT_ROUTE_THROTTLES: Readonly<Record<RouteName, RouteThrottle>> = {
  oauthStart: { rateLimit: 5, burstLimit: 10 },
  oauthCallback: { rateLimit: 10, burstLimit: 20 },
  events: { rateLimit: 100, burstLimit: 200 },
  install: { rateLimit: 20, burstLimit: 40 },
};

export interface OAuthHttpApiProps {
  /** `GET /oauth/start`: sends the browser to the portal's consent page. */
  readonly oauthStart: IFunction;
  /** `GET /oauth/callback`: the redirect URI registered in Bitrix24. */
  readonly oauthCallback: IFunction;
  /** `POST /bitrix/events`: the event handler URL (ONAPPINSTALL, ONAPPUNINSTALL, ONAPPUPDATE). */
  readonly appEvents: IFunction;
  /** `GET|POST /bitrix/install`: the install page ("Path for initial installation"). */
  readonly installPage: IFunction;
  /**
   * Throttles per route (both methods of `install` share its numbers), replacing the defaults route by
   * route. @default DEFAULT_ROUTE_THROTTLES
   */
  readonly routeThrottles?: Partial<Record<RouteName, RouteThrottle>>;
  /** Steady-state requests per second of any route without its own throttle. @default 50 */
  readonly throttleRateLimit?: number;
  /** Burst of any route without its own throttle. @default 100 */
  readonly throttleBurstLimit?: number;
  /** Retention of the access log. @default RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: RetentionDays;
  /**
   * A stable address for the URLs pasted into Bitrix24 (`bitrix.example.com`): a regional API Gateway
   * custom domain mapped to this API at its root. Needs `certificate`. @default - none: the
   * execute-api address, which changes with every new stack
   */
  readonly domainName?: string;
  /**
   * An ACM certificate for `domainName`, issued or imported in the stack's region (a regional
   * endpoint). @default - none (required with `domainName`)
   */
  readonly certificate?: ICertificate;
  /**
   * The Route 53 zone of `domainName`: an alias A record to the custom domain is created in it.
   * @default - none: point a CNAME at the `CustomDomainTarget` output yourself
   */
  readonly hostedZone?: IHostedZone;
}

/**
 * The HTTP API in front of the OAuth, event and install functions: four routes, each with its own
 * throttle, one default stage with an access log, optionally a custom domain, and the URLs to paste
 * into Bitrix24 as stack outputs.
 *
 * @example
 * const api = new OAuthHttpApi(this, 'Api', { oauthStart, oauthCallback, appEvents, installPage });
 */
export class OAuthHttpApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The custom domain, when there is one. */
  readonly domain?: DomainName;
  /** Base URL of the API as Bitrix24 and browsers reach it: the custom domain's, else execute-api's. */
  readonly url: string;
  /** The throttle in force per route. */
  readonly routeThrottles: Readonly<Record<RouteName, RouteThrottle>>;
  private readonly routes: HttpRoute[] = [];

  constructor(scope: Construct, id: string, props: OAuthHttpApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Bitrix24 token service: OAuth code flow, application events, install page',
      // Our own $default stage below carries the throttling and the access log.
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    this.routeThrottles = { ...DEFAULT_ROUTE_THROTTLES, ...props.routeThrottles };
    this.route(
      ROUTES.oauthStart,
      [HttpMethod.GET],
      props.oauthStart,
      'OAuthStart',
      'The user-facing start of the OAuth code flow: anonymous by design; it only redirects to the portal ' +
        'and binds a single-use state to the browser cookie.',
    );
    this.route(
      ROUTES.oauthCallback,
      [HttpMethod.GET],
      props.oauthCallback,
      'OAuthCallback',
      'Browser redirect from Bitrix24, which cannot add an authorization header; authenticated by the ' +
        'single-use, browser-bound state, and the code is only redeemable with our client secret.',
    );
    this.route(
      ROUTES.events,
      [HttpMethod.POST],
      props.appEvents,
      'AppEvents',
      'Bitrix24 event webhooks cannot send authorization headers; ONAPPINSTALL is verified against the ' +
        'authorization server with its access token, later events by their application_token.',
    );
    this.route(
      ROUTES.install,
      [HttpMethod.GET, HttpMethod.POST],
      props.installPage,
      'InstallPage',
      'The Bitrix24 install frame POSTs without authorization headers; its tokens are verified with the ' +
        'authorization server before anything is stored.',
    );

    this.throttleRoutes();

    if ((props.domainName === undefined) !== (props.certificate === undefined)) {
      throw new Error('a custom domain needs both domainName and certificate');
    }
    if (props.hostedZone !== undefined && props.domainName === undefined) {
      throw new Error('hostedZone is only used with domainName');
    }
    this.url = this.httpApi.apiEndpoint;
    if (props.domainName !== undefined && props.certificate !== undefined) {
      this.domain = this.customDomain(props.domainName, props.certificate, props.hostedZone);
      this.url = `https://${props.domainName}`;
    }

    const base = this.url;
    output(this, 'ApiUrl', base, 'Base URL of the HTTP API');
    output(this, 'RedirectUri', `${base}${ROUTES.oauthCallback}`, 'Bitrix24 app setting: redirect URI (callback)');
    output(
      this,
      'InstallUrl',
      `${base}${ROUTES.install}`,
      'Bitrix24 app setting: path for initial installation / install handler',
    );
    output(
      this,
      'EventHandlerUrl',
      `${base}${ROUTES.events}`,
      'Bitrix24 event handler URL (ONAPPINSTALL, ONAPPUNINSTALL)',
    );
    output(
      this,
      'OAuthStartUrl',
      `${base}${ROUTES.oauthStart}`,
      'Where a user starts connecting a portal (?portal=name.bitrix24.com)',
    );
  }

  /** The regional custom domain, its mapping to the `$default` stage at the root, and DNS when a zone is given. */
  private customDomain(domainName: string, certificate: ICertificate, zone: IHostedZone | undefined): DomainName {
    const domain = new DomainName(this, 'DomainName', {
      domainName,
      certificate,
      endpointType: EndpointType.REGIONAL,
      securityPolicy: SecurityPolicy.TLS_1_2,
    });
    new ApiMapping(this, 'ApiMapping', { api: this.httpApi, domainName: domain, stage: this.stage });
    if (zone !== undefined) {
      const target = RecordTarget.fromAlias(
        new ApiGatewayv2DomainProperties(domain.regionalDomainName, domain.regionalHostedZoneId),
      );
      new ARecord(this, 'AliasRecord', { zone, recordName: domainName, target });
    }
    output(
      this,
      'CustomDomainTarget',
      domain.regionalDomainName,
      `DNS: ${domainName} CNAME (or Route 53 alias) to this name`,
    );
    output(this, 'ExecuteApiUrl', this.httpApi.apiEndpoint, 'The API without the custom domain (for checks)');
    return domain;
  }

  private route(path: string, methods: HttpMethod[], fn: IFunction, id: string, reason: string): void {
    const routes = this.httpApi.addRoutes({
      path,
      methods,
      integration: new HttpLambdaIntegration(`${id}Integration`, fn),
    });
    for (const route of routes) Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    this.routes.push(...routes);
  }

  /**
   * The stage's `RouteSettings` (no L2 property for them), keyed by route key. API Gateway refuses
   * settings for a route that does not exist yet, so the stage is created after its routes.
   */
  private throttleRoutes(): void {
    const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const [name, path] of Object.entries(ROUTES) as [RouteName, string][]) {
      const throttle = this.routeThrottles[name];
      for (const route of this.routes.filter((r) => r.path === path)) {
        settings[(route.node.defaultChild as CfnRoute).routeKey] = {
          ThrottlingRateLimit: throttle.rateLimit,
          ThrottlingBurstLimit: throttle.burstLimit,
        };
        this.stage.node.addDependency(route);
      }
    }
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride('RouteSettings', settings);
  }
}

function output(scope: Construct, id: string, value: string, description: string): void {
  // Plain logical ids, so the outputs read the same in the console and in `cdk deploy`.
  new CfnOutput(scope, id, { value, description }).overrideLogicalId(id);
}
