import { Duration } from 'aws-cdk-lib';
import { type Config, vendorTimeoutSeconds } from '#shared/runtime/config.js';
import type { TokenAccess } from './constructs/token-table.js';

/** A variable of `shared/runtime/config.ts`: the type keeps this file in step with the schema. */
export type SettingName = keyof Config;

/** Settings an operator may set for the deployment (`cdk.json` context `settings`, or stack props). */
export type Settings = Partial<Record<SettingName, string>>;

/** Variables the constructs' `bind` methods set from the resources; never set by hand. */
export const RESOURCE_SETTINGS = [
  'TABLE_NAME',
  'CLIENT_CREDENTIALS_SECRET_ID',
  'EVENT_BUS_NAME',
] as const satisfies readonly SettingName[];

/** Settings by area. A function gets the areas it reads; an operator's value reaches only those functions. */
export const SETTING_AREAS = {
  /** Writers of token sets must agree on the due-index layout; every table user has the same time limits. */
  tokenStore: ['DUE_SHARDS', 'DYNAMODB_REQUEST_TIMEOUT_MS', 'DYNAMODB_CONNECT_TIMEOUT_MS', 'DYNAMODB_MAX_ATTEMPTS'],
  /** Everything that calls the authorization server with our client credentials. */
  authorizationServer: [
    'BITRIX_AUTH_SERVERS',
    'BITRIX_URL_REWRITES',
    'BITRIX_HTTP_TIMEOUT_MS',
    'CLIENT_CREDENTIALS_MAX_AGE_SECONDS',
  ],
  /** The one refresh path and when token sets are due. */
  refresh: [
    'REFRESH_TOKEN_LIFETIME_DAYS',
    'REFRESH_LEASE_SECONDS',
    'REFRESH_POLICY',
    'REFRESH_ACCESS_LEAD_MINUTES',
    'REFRESH_ACCESS_JITTER_MINUTES',
    'REFRESH_TOKEN_LEAD_DAYS',
    'REFRESH_TOKEN_JITTER_HOURS',
    'REFRESH_WARM_WINDOW_HOURS',
    'REFRESH_DEGRADED_AFTER',
    'REFRESH_RETRY_BASE_SECONDS',
    'REFRESH_RETRY_MAX_SECONDS',
    'REFRESH_PAYMENT_RETRY_HOURS',
    'REFRESH_TAKEOVER_GRACE_SECONDS',
    'REFRESH_WRITE_ATTEMPTS',
  ],
  /** The sweep only. */
  sweep: ['REFRESH_SWEEP_CONCURRENCY', 'REFRESH_SWEEP_MARGIN_SECONDS', 'REFRESH_SWEEP_MAX_KEYS'],
  /** OAuth code flow in the browser. */
  oauthFlow: ['OAUTH_STATE_TTL_SECONDS', 'OAUTH_COOKIE_SECURE'],
  /** Install events, the install frame and parked claims. */
  lifecycle: [
    'LIFECYCLE_VERIFY_TIMEOUT_MS',
    'LIFECYCLE_BODY_MAX_BYTES',
    'LIFECYCLE_RECEIPT_TTL_HOURS',
    'DEFAULT_SERVER_ENDPOINT',
    'PARKED_EVENT_MAX_AGE_DAYS',
    'PARKED_EVENT_SHARDS',
    'PARKED_RETRY_BASE_SECONDS',
    'PARKED_RETRY_MAX_SECONDS',
  ],
  /** The token vendor's defaults for callers that name none, and how often it records use. */
  vendor: ['CONSUMER_REFRESH_MARGIN_SECONDS', 'CONSUMER_TOUCH_THROTTLE_SECONDS'],
  /** The consumer library inside a consumer Lambda of this stack (the example). */
  consumer: [
    'CONSUMER_REFRESH_MARGIN_SECONDS',
    'CONSUMER_CACHE_SECONDS',
    'CONSUMER_TOUCH_THROTTLE_SECONDS',
    'BITRIX_REST_TIMEOUT_MS',
    'BITRIX_REST_MAX_ATTEMPTS',
    'BITRIX_REST_BACKOFF_BASE_MS',
    'BITRIX_REST_BACKOFF_MAX_MS',
  ],
} as const satisfies Record<string, readonly SettingName[]>;

export type SettingArea = keyof typeof SETTING_AREAS;

/** What a consumer Lambda reads: the library's own tuning; it reads the table and asks the vendor. */
export const CONSUMER_SETTING_AREAS = ['consumer'] as const satisfies readonly SettingArea[];

/** What one function is, needs and may do. */
export interface FunctionSpec {
  /** Construct id (PascalCase). */
  readonly id: string;
  /** Entry file from the project root. */
  readonly entry: string;
  readonly description: string;
  /**
   * Token table access; `consumer`: a reader of the table and a caller of the token vendor, granted
   * by `TokenConsumerAccess` as any team's Lambda is (`BitrixTokenStack.grantConsumer`).
   */
  readonly tokens: TokenAccess | 'consumer';
  /** Reads the client credentials secret. */
  readonly clientCredentials: boolean;
  /** Publishes token-status notifications (runs the refresh path: the sweep and the token vendor). */
  readonly notifications: boolean;
  readonly settings: readonly SettingArea[];
  /** A fixed timeout, or one sized from the deployment's settings. */
  readonly timeout: Duration | ((config: Config) => Duration);
  /** Deployed only when the stack is asked for it (`BitrixTokenStackProps.exampleConsumer`). @default false */
  readonly optIn?: boolean;
  readonly memorySize?: number;
  /** Asynchronous retries (scheduled jobs: 0, the next tick does the same work). @default Lambda's 2 */
  readonly retryAttempts?: number;
}

/**
 * THE per-function mapping: entry, table access, secret, bus and settings. Extend it here; the stack
 * builds every function from it. The example consumer uses the same grant as user Lambdas
 * (`BitrixTokenStack.grantConsumer`) and is deployed only on request.
 */
export const FUNCTIONS = {
  oauthStart: {
    id: 'OAuthStart',
    entry: 'functions/oauth-start.ts',
    description: 'GET /oauth/start: redirects to the portal consent page with a browser-bound state',
    tokens: 'oauthStates',
    clientCredentials: true,
    notifications: false,
    settings: ['oauthFlow', 'authorizationServer'],
    timeout: Duration.seconds(10),
  },
  oauthCallback: {
    id: 'OAuthCallback',
    entry: 'functions/oauth-callback.ts',
    description: 'GET /oauth/callback: exchanges the code and stores a new token chain',
    tokens: 'readWrite',
    clientCredentials: true,
    notifications: false,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'oauthFlow'],
    timeout: Duration.seconds(15),
  },
  appEvents: {
    id: 'AppEvents',
    entry: 'functions/app-events.ts',
    description: 'POST /bitrix/events: ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL',
    tokens: 'readWrite',
    clientCredentials: true,
    notifications: false,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    timeout: Duration.seconds(15),
  },
  installPage: {
    id: 'InstallPage',
    entry: 'functions/install-page.ts',
    description: 'GET|POST /bitrix/install: the install frame and app opens',
    tokens: 'readWrite',
    clientCredentials: true,
    notifications: false,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    timeout: Duration.seconds(15),
  },
  refreshTokens: {
    id: 'RefreshTokens',
    entry: 'functions/refresh-tokens.ts',
    description: 'Scheduled refresh sweep over the due index',
    tokens: 'readWrite',
    clientCredentials: true,
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'sweep'],
    // Below the 5-minute interval, so sweeps rarely overlap (leases make overlaps safe anyway).
    timeout: Duration.minutes(4),
    memorySize: 512,
    retryAttempts: 0,
  },
  processParkedEvents: {
    id: 'ProcessParkedEvents',
    entry: 'functions/process-parked-events.ts',
    description: 'Scheduled: finishes install events parked while the authorization server was unreachable',
    tokens: 'readWrite',
    clientCredentials: true,
    notifications: false,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    timeout: Duration.minutes(1),
    retryAttempts: 0,
  },
  tokenVendor: {
    id: 'TokenVendor',
    entry: 'functions/token-vendor.ts',
    description: "Token vendor (Lambda Invoke): consumers' access tokens through the one refresh path",
    tokens: 'refreshPath',
    clientCredentials: true,
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'vendor'],
    // A wait for another worker's lease, then one refresh of its own (vendorTimeoutSeconds).
    timeout: (config) => Duration.seconds(vendorTimeoutSeconds(config)),
  },
  exampleConsumer: {
    id: 'ExampleConsumer',
    entry: 'functions/example-consumer.ts',
    description: 'Example consumer (direct invoke): calls a portal REST method with a fresh token',
    tokens: 'consumer',
    clientCredentials: false,
    notifications: false,
    settings: CONSUMER_SETTING_AREAS,
    // Long enough to wait for the vendor at its longest, then make the REST call.
    timeout: (config) =>
      Duration.seconds(vendorTimeoutSeconds(config) + Math.ceil(config.BITRIX_REST_TIMEOUT_MS / 1000)),
    optIn: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

/** The functions every deployment has (the catalog without the opt-in ones). */
export type CoreFunctionName = {
  [N in FunctionName]: (typeof FUNCTIONS)[N] extends { readonly optIn: true } ? never : N;
}[FunctionName];

/** A function's timeout under the deployment's settings. */
export function timeoutOf(spec: FunctionSpec, config: Config): Duration {
  return typeof spec.timeout === 'function' ? spec.timeout(config) : spec.timeout;
}

/** The operator's values of the settings in `areas`. */
export function settingsEnvironment(areas: readonly SettingArea[], settings: Settings): Record<string, string> {
  const names = new Set<SettingName>(areas.flatMap((area) => SETTING_AREAS[area]));
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings) as [SettingName, string | undefined][]) {
    if (value !== undefined && names.has(name)) environment[name] = value;
  }
  return environment;
}

/**
 * Refuses settings no function reads and settings bound to resources, so a typo or a misplaced
 * value fails at synth instead of being ignored.
 */
export function checkSettings(settings: Settings): void {
  const known = new Set<string>(Object.values(SETTING_AREAS).flat());
  for (const name of Object.keys(settings)) {
    if ((RESOURCE_SETTINGS as readonly string[]).includes(name)) {
      throw new Error(`setting ${name} is set from the deployed resources; remove it from the settings`);
    }
    if (!known.has(name)) {
      throw new Error(`setting ${name} is read by no function: add it to SETTING_AREAS in infra/function-catalog.ts`);
    }
  }
}
