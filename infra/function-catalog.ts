import { Duration } from 'aws-cdk-lib';
import { appEventsTimeoutSeconds, type Config, vendorTimeoutSeconds } from '#shared/runtime/config.js';
import type { InvokedBy } from './constructs/app-function.js';
import { REFRESH_PATH_TABLE_ACCESS, type TableAccess } from './constructs/token-table.js';

/** A variable of `shared/runtime/config.ts`: the type keeps this file in step with the schema. */
export type SettingName = keyof Config;

/** Settings an operator may set for the deployment (`cdk.json` context `settings`, or stack props). */
export type Settings = Partial<Record<SettingName, string>>;

/** Variables the constructs' `bind` methods set from the resources; never set by hand. */
export const RESOURCE_SETTINGS = [
  'TABLE_NAME',
  'CLIENT_CREDENTIALS_SECRET_ID',
  'EVENT_BUS_NAME',
  'REFRESH_QUEUE_URL',
] as const satisfies readonly SettingName[];

/**
 * Settings of the in-process sweep of `npm run ops -- sweep` only: no deployed function reads them
 * (the deployed sweep is the dispatcher and the refresh workers).
 */
export const OPERATOR_SETTINGS = [
  'REFRESH_SWEEP_CONCURRENCY',
  'REFRESH_SWEEP_MARGIN_SECONDS',
] as const satisfies readonly SettingName[];

/**
 * Variables the stack sets from its own props (`BitrixTokenStackProps`, or the context of the same name);
 * never set through `settings`.
 */
export const PROP_SETTINGS = {
  BITRIX_CLIENT_ID: 'clientId',
  REFRESH_DISPATCH_INTERVAL_SECONDS: 'refreshInterval',
} as const satisfies Partial<Record<SettingName, string>>;

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
    'REFRESH_CREDENTIALS_RETRY_MINUTES',
    'REFRESH_TAKEOVER_GRACE_SECONDS',
    'REFRESH_WRITE_ATTEMPTS',
  ],
  /** The dispatcher only (the in-process sweep's concurrency and margin belong to `npm run ops -- sweep`). */
  dispatch: ['REFRESH_SWEEP_MAX_KEYS', 'REFRESH_CALLS_PER_SECOND', 'REFRESH_ON_DEMAND_PERCENT'],
  /** OAuth code flow in the browser. */
  oauthFlow: ['OAUTH_STATE_TTL_SECONDS', 'OAUTH_COOKIE_SECURE'],
  /** Which portals a browser may be sent to (`/oauth/start`) and a REST call may follow (consumers). */
  portals: ['BITRIX_ON_PREMISE_PORTALS'],
  /** Install events, the install frame and parked claims. */
  lifecycle: [
    'LIFECYCLE_BODY_MAX_BYTES',
    'LIFECYCLE_RECEIPT_TTL_HOURS',
    'DEFAULT_SERVER_ENDPOINT',
    'BX24_LIBRARY_URL',
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
   * Token table access, action by action and item family by item family, as the function's use cases
   * call the adapters (docs/DEPLOY.md §1 lists why each one is there); `consumer`: a reader of the
   * table and a caller of the token vendor, granted by `TokenConsumerAccess` as any team's Lambda is
   * (`BitrixTokenStack.grantConsumer`).
   */
  readonly tokens: TableAccess | 'consumer';
  /** Reads the client credentials secret. */
  readonly clientCredentials: boolean;
  /**
   * Gets the app's client id as `BITRIX_CLIENT_ID` (from the stack's `clientId`) instead of the secret:
   * for the anonymous start of the code flow, which must not be able to read the client secret.
   */
  readonly clientId: boolean;
  /** Publishes token-status notifications (runs the refresh path, or reports lost installs). */
  readonly notifications: boolean;
  /**
   * The refresh queue: `send` gets `REFRESH_QUEUE_URL` and `sqs:SendMessage` on it (the dispatcher);
   * `consume` is its event source mapping's target, with the receive and delete grants that needs.
   * @default - no access
   */
  readonly refreshQueue?: 'send' | 'consume';
  readonly settings: readonly SettingArea[];
  /** A fixed timeout, or one sized from the deployment's settings. */
  readonly timeout: Duration | ((config: Config) => Duration);
  /** Deployed only when the stack is asked for it (`BitrixTokenStackProps.exampleConsumer`). @default false */
  readonly optIn?: boolean;
  readonly memorySize?: number;
  /**
   * Who invokes it: the HTTP API and a direct caller wait for the answer; the schedules invoke
   * asynchronously (`TokenRefreshSchedule` sets no retries, a maximum event age and the on-failure
   * destination).
   */
  readonly invokedBy: InvokedBy;
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
    // startAuthorization: the state.
    tokens: { items: { state: ['PutItem'] } },
    clientCredentials: false,
    clientId: true,
    notifications: false,
    settings: ['oauthFlow', 'portals', 'authorizationServer'],
    timeout: Duration.seconds(10),
    invokedBy: 'api',
  },
  oauthCallback: {
    id: 'OAuthCallback',
    entry: 'functions/oauth-callback.ts',
    description: 'GET /oauth/callback: exchanges the code and stores a new token chain',
    // completeAuthorization: spends the state; reads and writes the installation and the user's chain.
    tokens: {
      items: { portal: ['GetItem', 'PutItem', 'UpdateItem'], state: ['DeleteItem'], app: ['UpdateItem'] },
    },
    clientCredentials: true,
    clientId: false,
    notifications: false,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'oauthFlow'],
    timeout: Duration.seconds(15),
    invokedBy: 'api',
  },
  appEvents: {
    id: 'AppEvents',
    entry: 'functions/app-events.ts',
    description: 'POST /bitrix/events: ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL',
    // acceptInstallClaim (receipts, parking) and uninstallPortal, whose CLEAN variant deletes every item
    // of the portal in batches: the only BatchWriteItem of the service. An uninstall of a portal without
    // a stored application token is proven through the refresh path (lease and fenced write: UpdateItem;
    // a recovery item: PutItem checked against its token set; the credentials-health item).
    tokens: {
      items: {
        portal: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'],
        lifecycle: ['GetItem', 'Query', 'PutItem', 'DeleteItem', 'BatchWriteItem'],
        app: ['GetItem', 'UpdateItem'],
      },
    },
    clientCredentials: true,
    clientId: false,
    // The uninstall proof's refresh reports what it finds (uninstalled, reauth_required, …).
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    // The uninstall proof: a short wait for a running refresh, one authorization-server call and its
    // writes (appEventsTimeoutSeconds), never cut off after the server answered.
    timeout: (config) => Duration.seconds(appEventsTimeoutSeconds(config)),
    invokedBy: 'api',
  },
  installPage: {
    id: 'InstallPage',
    entry: 'functions/install-page.ts',
    description: 'GET|POST /bitrix/install: the install frame and app opens',
    // registerInstallation: receipts and parking; the installation and chain (Query and DeleteItem: a
    // chain written after a racing uninstall is deleted again).
    tokens: {
      items: {
        portal: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
        lifecycle: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
        app: ['GetItem', 'UpdateItem'],
      },
    },
    clientCredentials: true,
    clientId: false,
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    timeout: Duration.seconds(15),
    invokedBy: 'api',
  },
  dispatchRefreshes: {
    id: 'DispatchRefreshes',
    entry: 'functions/dispatch-refreshes.ts',
    description: 'Scheduled: reads the due index and hands due token sets to the refresh queue',
    // Reads the due index only: no item, no token, no secret.
    tokens: { items: {}, dueIndex: 'tokens' },
    clientCredentials: false,
    clientId: false,
    notifications: false,
    refreshQueue: 'send',
    settings: ['tokenStore', 'dispatch'],
    // Thousands of keys are a few hundred SendMessageBatch calls: seconds, far below the interval.
    timeout: Duration.minutes(2),
    invokedBy: 'schedule',
  },
  refreshWorker: {
    id: 'RefreshWorker',
    entry: 'functions/refresh-worker.ts',
    description: 'Refresh worker (SQS event source): each message one due token set through the refresh path',
    // The refresh path: the token set (lease, fenced write), its history item, and a pair whose write
    // failed in a recovery item (PutItem, GetItem, DeleteItem); when our credentials were last accepted.
    tokens: {
      items: {
        portal: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
        app: ['GetItem', 'UpdateItem'],
      },
    },
    clientCredentials: true,
    clientId: false,
    notifications: true,
    refreshQueue: 'consume',
    settings: ['tokenStore', 'authorizationServer', 'refresh'],
    // A batch is refreshed at once: each refresh ends within its lease (HTTP timeout plus the writes).
    timeout: (config) => Duration.seconds(config.REFRESH_LEASE_SECONDS + 30),
    // About 10 ms of CPU per refresh, 10 at once (docs/BENCHMARKS.md §6): CPU grows with memory in Lambda.
    memorySize: 512,
    invokedBy: 'queue',
  },
  processParkedEvents: {
    id: 'ProcessParkedEvents',
    entry: 'functions/process-parked-events.ts',
    description: 'Scheduled: finishes install events parked while the authorization server was unreachable',
    // finishParkedEvents: due claims, claim/reschedule (UpdateItem), remove, receipt; storeVerifiedClaim:
    // the installation and chain (Query and DeleteItem after a racing uninstall).
    tokens: {
      items: {
        portal: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
        lifecycle: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
        app: ['GetItem', 'UpdateItem'],
      },
      dueIndex: 'parked',
    },
    clientCredentials: true,
    clientId: false,
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'lifecycle'],
    timeout: Duration.minutes(1),
    invokedBy: 'schedule',
  },
  tokenVendor: {
    id: 'TokenVendor',
    entry: 'functions/token-vendor.ts',
    description: "Token vendor (Lambda Invoke): consumers' access tokens through the one refresh path",
    // The refresh path on portal items (lease, fenced write, recovery items, use records, renames) and
    // the credentials-health item; nothing else.
    tokens: REFRESH_PATH_TABLE_ACCESS,
    clientCredentials: true,
    clientId: false,
    notifications: true,
    settings: ['tokenStore', 'authorizationServer', 'refresh', 'vendor'],
    // A wait for another worker's lease, then one refresh of its own (vendorTimeoutSeconds).
    timeout: (config) => Duration.seconds(vendorTimeoutSeconds(config)),
    invokedBy: 'direct',
  },
  exampleConsumer: {
    id: 'ExampleConsumer',
    entry: 'functions/example-consumer.ts',
    description: 'Example consumer (direct invoke): calls a portal REST method with a fresh token',
    tokens: 'consumer',
    clientCredentials: false,
    clientId: false,
    notifications: false,
    settings: CONSUMER_SETTING_AREAS,
    // Long enough to wait for the vendor at its longest, then make the REST call.
    timeout: (config) =>
      Duration.seconds(vendorTimeoutSeconds(config) + Math.ceil(config.BITRIX_REST_TIMEOUT_MS / 1000)),
    optIn: true,
    invokedBy: 'direct',
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
    if ((OPERATOR_SETTINGS as readonly string[]).includes(name)) {
      throw new Error(
        `setting ${name} is read by the operator CLI's sweep only (npm run ops -- sweep); no deployed function reads it`,
      );
    }
    if (name in PROP_SETTINGS) {
      const prop = PROP_SETTINGS[name as keyof typeof PROP_SETTINGS];
      throw new Error(
        `setting ${name} is set from the stack's ${prop} (prop, or -c ${prop}=…); remove it from the settings`,
      );
    }
    if (!known.has(name)) {
      throw new Error(`setting ${name} is read by no function: add it to SETTING_AREAS in infra/function-catalog.ts`);
    }
  }
}
