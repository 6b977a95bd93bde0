import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { HttpPortalProbe } from '#shared/adapters/bitrix/portal-probe.js';
import { HttpPortalProfile } from '#shared/adapters/bitrix/portal-profile.js';
import { DynamoDbCredentialsHealth } from '#shared/adapters/dynamodb/credentials-health.js';
import { DynamoDbOAuthStateRepository } from '#shared/adapters/dynamodb/oauth-state-repository.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { DynamoDbPortalListing } from '#shared/adapters/dynamodb/portal-listing.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { EventBridgeNotificationPublisher } from '#shared/adapters/eventbridge-notification-publisher.js';
import { LoggingNotificationPublisher } from '#shared/adapters/logging-notification-publisher.js';
import { SecretsManagerCredentials } from '#shared/adapters/secrets-manager-credentials.js';
import { ConfigError } from '#shared/core/domain/errors.js';
import { once } from '#shared/core/domain/once.js';
import { PARKED_RETRY_SPREAD } from '#shared/core/domain/parked-event.js';
import { DAY, HOUR, MINUTE, SECOND } from '#shared/core/domain/time.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { NotificationPublisher } from '#shared/core/ports/notification-publisher.js';
import type {
  BitrixOAuthClient,
  ClientCredentialsProvider,
  ClientIdProvider,
} from '#shared/core/ports/oauth-client.js';
import type { OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { PortalAddressStore } from '#shared/core/ports/portal-address-store.js';
import type { PortalListing } from '#shared/core/ports/portal-listing.js';
import type { RecoveryStore } from '#shared/core/ports/recovery-store.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { type CompleteAuthorizationDeps, policyFirstRefreshAt } from '#shared/core/use-cases/complete-authorization.js';
import { countCalls } from '#shared/core/use-cases/count-calls.js';
import type { HandleAppEventDeps } from '#shared/core/use-cases/handle-app-event.js';
import type { OpenInstallPageDeps } from '#shared/core/use-cases/open-install-page.js';
import type { RefreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import type { StartAuthorizationDeps } from '#shared/core/use-cases/start-authorization.js';
import type { SweepDeps } from '#shared/core/use-cases/sweep-due-tokens.js';
import type { VendDeps } from '#shared/core/use-cases/vend-access-token.js';
import { watchCredentials } from '#shared/core/use-cases/watch-credentials.js';
import { type AwsClientSettings, type AwsClients, createAwsClients } from './clients.js';
import { type Config, dynamoDbLimits, leaseWaitMs } from './config.js';
import { defaultLogger } from './logger.js';
import { defaultMetrics } from './metrics.js';

/** What a caller may put in place of the runtime's defaults (local host, CLI, tests, benchmarks). */
export interface WireOptions {
  /** Ready-made SDK clients, used as they are. @default clients built from `aws` */
  readonly clients?: AwsClients;
  /**
   * Where the SDK clients go (endpoints of local servers, static credentials); the configured DynamoDB
   * time limits are added. @default the SDK's own defaults (in Lambda: the function's environment)
   */
  readonly aws?: AwsClientSettings;
  /** @default the Powertools logger from `POWERTOOLS_*` (`defaultLogger()`) */
  readonly logger?: PowertoolsLogger;
  /** @default Powertools metrics (`defaultMetrics()`) */
  readonly metrics?: MetricsRecorder;
  /** @default EventBridge when `EVENT_BUS_NAME` is set, the log otherwise */
  readonly notifications?: NotificationPublisher;
  /** Judges leases, due times and expiries (a demo or a test runs the emulator's). @default Date.now */
  readonly clock?: () => number;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The composition root: every adapter and every use case's dependencies, built from one `Config` on
 * first use and kept (one instance per cold start). A function's factory takes the parts it needs
 * from here (`makeAppEvents(wire(loadConfig()))`); the local host, the CLI and the tests pass their
 * own clients, logger or clock through `WireOptions` instead of touching `process.env`.
 */
export interface Wiring {
  readonly config: Config;
  readonly logger: PowertoolsLogger;
  readonly metrics: MetricsRecorder;
  readonly clock: () => number;
  readonly tokens: TokenRepository & PortalAddressStore;
  /** The token-free listing of every portal, for operator views (status page, CLI); never on a request path. */
  readonly listing: PortalListing;
  readonly states: OAuthStateRepository;
  readonly credentials: ClientCredentialsProvider;
  /** `BITRIX_CLIENT_ID`, else the secret's `clientId`. */
  readonly clientId: ClientIdProvider;
  readonly parked: ParkedEventRepository;
  readonly recovery: RecoveryStore;
  readonly notifications: NotificationPublisher;
  /** The refresh path and the sweep. */
  readonly refresh: SweepDeps;
  /** The token vendor: consumers' access tokens through the refresh path. */
  readonly vendor: VendDeps;
  /** Install events, uninstall, the install page and parked claims. */
  readonly lifecycle: OpenInstallPageDeps & HandleAppEventDeps;
  readonly startAuthorization: StartAuthorizationDeps;
  readonly completeAuthorization: CompleteAuthorizationDeps;
}

/**
 * Wires the service for `config`.
 *
 * @example
 * export const handler = makeAppEvents(wire(loadConfig()));
 * // a test, against DynamoDB Local and the emulator's clock:
 * const deps = wire(loadConfig({ TABLE_NAME: table }), { clients, clock: () => emulator.clock.now() });
 */
export function wire(config: Config, options: WireOptions = {}): Wiring {
  const clients = once(() => options.clients ?? createAwsClients({ ...options.aws, dynamoDb: dynamoDbLimits(config) }));
  const logger = once(() => options.logger ?? defaultLogger());
  const metrics = once(() => options.metrics ?? defaultMetrics());
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const settings = once(() => refreshSettings(config));
  const repository = once(
    () =>
      new DynamoDbTokenRepository({
        client: clients().documents,
        tableName: config.TABLE_NAME,
        dueShards: config.DUE_SHARDS,
      }),
  );
  const listing = once(() => new DynamoDbPortalListing({ client: clients().documents, tableName: config.TABLE_NAME }));
  const credentials = once(
    () =>
      new SecretsManagerCredentials({
        secretId: config.CLIENT_CREDENTIALS_SECRET_ID,
        maxAgeSeconds: config.CLIENT_CREDENTIALS_MAX_AGE_SECONDS,
        client: clients().secretsManager,
      }),
  );
  // The deployed `oauth-start` has BITRIX_CLIENT_ID and no access to the secret; local hosts and tests
  // keep one source, the secret.
  const clientId = once((): ClientIdProvider => {
    const fixed = config.BITRIX_CLIENT_ID;
    if (fixed !== undefined) return { clientId: async () => fixed };
    if (config.CLIENT_CREDENTIALS_SECRET_ID === undefined) {
      return {
        clientId: async () => {
          throw new ConfigError('BITRIX_CLIENT_ID is not set (deploy with the clientId context, docs/DEPLOY.md)');
        },
      };
    }
    return { clientId: async () => (await credentials().get()).clientId };
  });
  const credentialsHealth = once(
    () =>
      new DynamoDbCredentialsHealth({
        client: clients().documents,
        tableName: config.TABLE_NAME,
        credentials: credentials(),
      }),
  );
  const httpOAuth = (timeoutMs: number): BitrixOAuthClient =>
    new HttpBitrixOAuthClient({
      credentials: credentials(),
      allowedAuthServers: config.BITRIX_AUTH_SERVERS,
      urlRewrites: config.BITRIX_URL_REWRITES,
      timeoutMs,
      now: clock,
    });
  // The sweep's, the installs' and the callback's grants record that our credentials work (at most
  // once a minute per process): how an app removed from a portal is told from wrong credentials (both
  // are `invalid_client`). The vendor answers a waiting consumer and records nothing.
  const oauth = (timeoutMs: number): BitrixOAuthClient =>
    watchCredentials(httpOAuth(timeoutMs), {
      health: credentialsHealth(),
      now: clock,
      everyMs: MINUTE,
      logger: logger(),
    });
  const parked = once(
    () =>
      new DynamoDbParkedEventRepository({
        client: clients().documents,
        tableName: config.TABLE_NAME,
        shards: config.PARKED_EVENT_SHARDS,
      }),
  );
  const recovery = once(() => new DynamoDbRecoveryStore({ client: clients().documents, tableName: config.TABLE_NAME }));
  const notifications = once((): NotificationPublisher => {
    if (options.notifications !== undefined) return options.notifications;
    if (config.EVENT_BUS_NAME === undefined) return new LoggingNotificationPublisher(logger());
    return new EventBridgeNotificationPublisher({ client: clients().eventBridge, eventBusName: config.EVENT_BUS_NAME });
  });
  // A new chain's first refresh follows the deployment's refresh policy, as the sweep's do.
  const firstRefreshAt = once(() =>
    policyFirstRefreshAt(settings().policy, settings().refreshTokenLifetimeMs, clock, random),
  );
  const refresh = once(
    (): SweepDeps => ({
      repository: repository(),
      oauth: countCalls(oauth(config.BITRIX_HTTP_TIMEOUT_MS), metrics(), 'sweep'),
      recovery: recovery(),
      credentials: credentialsHealth(),
      notifications: notifications(),
      metrics: metrics(),
      logger: logger(),
      settings: settings(),
      clock,
      random,
    }),
  );
  const vendor = once(
    (): VendDeps => ({
      tokens: repository(),
      refresh: { ...refresh(), oauth: countCalls(httpOAuth(config.BITRIX_HTTP_TIMEOUT_MS), metrics(), 'on_demand') },
      probe: new HttpPortalProbe({ urlRewrites: config.BITRIX_URL_REWRITES, timeoutMs: config.BITRIX_HTTP_TIMEOUT_MS }),
      settings: {
        minValidityMs: config.CONSUMER_REFRESH_MARGIN_SECONDS * SECOND,
        touchThrottleMs: config.CONSUMER_TOUCH_THROTTLE_SECONDS * SECOND,
      },
    }),
  );
  const lifecycle = once((): OpenInstallPageDeps & HandleAppEventDeps => ({
    tokens: repository(),
    // Proves an uninstall of a portal whose application token is unknown (uninstallPortal).
    refresh: refresh(),
    parked: parked(),
    // Verification runs after Bitrix24 has its answer (events) or while a user waits (the frame):
    // the full timeout either way, so a slow but successful answer is not thrown away.
    oauth: oauth(config.BITRIX_HTTP_TIMEOUT_MS),
    allowedAuthServers: config.BITRIX_AUTH_SERVERS,
    refreshTokenLifetimeMs: settings().refreshTokenLifetimeMs,
    nextRefreshAt: firstRefreshAt(),
    parking: {
      retry: {
        baseMs: config.PARKED_RETRY_BASE_SECONDS * SECOND,
        maxMs: config.PARKED_RETRY_MAX_SECONDS * SECOND,
        spread: PARKED_RETRY_SPREAD,
      },
      maxAgeMs: config.PARKED_EVENT_MAX_AGE_DAYS * DAY,
    },
    receiptTtlSeconds: (config.LIFECYCLE_RECEIPT_TTL_HOURS * HOUR) / SECOND,
    defaultServerEndpoint: config.DEFAULT_SERVER_ENDPOINT,
    profiles: new HttpPortalProfile({
      urlRewrites: config.BITRIX_URL_REWRITES,
      timeoutMs: config.BITRIX_HTTP_TIMEOUT_MS,
    }),
    credentials: credentialsHealth(),
    notifications: notifications(),
    metrics: metrics(),
    logger: logger(),
    now: clock,
    random,
  }));
  const states = once(() => new DynamoDbOAuthStateRepository(clients().documents, config.TABLE_NAME));
  const startAuthorization = once(
    (): StartAuthorizationDeps => ({
      states: states(),
      clientId: clientId(),
      onPremisePortals: config.BITRIX_ON_PREMISE_PORTALS,
      stateTtlMs: config.OAUTH_STATE_TTL_SECONDS * SECOND,
      urlRewrites: config.BITRIX_URL_REWRITES,
      now: clock,
    }),
  );
  const completeAuthorization = once(
    (): CompleteAuthorizationDeps => ({
      states: states(),
      tokens: repository(),
      oauth: oauth(config.BITRIX_HTTP_TIMEOUT_MS),
      allowedAuthServers: config.BITRIX_AUTH_SERVERS,
      refreshTokenLifetimeMs: settings().refreshTokenLifetimeMs,
      nextRefreshAt: firstRefreshAt(),
      now: clock,
      logger: logger(),
    }),
  );
  return {
    config,
    clock,
    get logger() {
      return logger();
    },
    get metrics() {
      return metrics();
    },
    get tokens() {
      return repository();
    },
    get listing() {
      return listing();
    },
    get states() {
      return states();
    },
    get credentials() {
      return credentials();
    },
    get clientId() {
      return clientId();
    },
    get parked() {
      return parked();
    },
    get recovery() {
      return recovery();
    },
    get notifications() {
      return notifications();
    },
    get refresh() {
      return refresh();
    },
    get vendor() {
      return vendor();
    },
    get lifecycle() {
      return lifecycle();
    },
    get startAuthorization() {
      return startAuthorization();
    },
    get completeAuthorization() {
      return completeAuthorization();
    },
  };
}

/**
 * The refresh path's tuning from the configuration: policy leads and jitter, the failure taxonomy's
 * back-off, lease and write budgets.
 *
 * @example
 * const { policy, refreshTokenLifetimeMs } = refreshSettings(loadConfig());
 */
export function refreshSettings(config: Config): RefreshSettings {
  return {
    policy: {
      mode: config.REFRESH_POLICY,
      accessLeadMs: config.REFRESH_ACCESS_LEAD_MINUTES * MINUTE,
      accessJitterMs: config.REFRESH_ACCESS_JITTER_MINUTES * MINUTE,
      refreshLeadMs: config.REFRESH_TOKEN_LEAD_DAYS * DAY,
      refreshJitterMs: config.REFRESH_TOKEN_JITTER_HOURS * HOUR,
      warmWindowMs: config.REFRESH_WARM_WINDOW_HOURS * HOUR,
    },
    failures: {
      degradedAfter: config.REFRESH_DEGRADED_AFTER,
      retry: { baseMs: config.REFRESH_RETRY_BASE_SECONDS * SECOND, maxMs: config.REFRESH_RETRY_MAX_SECONDS * SECOND },
      paymentRetryMs: config.REFRESH_PAYMENT_RETRY_HOURS * HOUR,
      credentialsRetryMs: config.REFRESH_CREDENTIALS_RETRY_MINUTES * MINUTE,
      takeoverGraceMs: config.REFRESH_TAKEOVER_GRACE_SECONDS * SECOND,
    },
    refreshTokenLifetimeMs: config.REFRESH_TOKEN_LIFETIME_DAYS * DAY,
    leaseMs: config.REFRESH_LEASE_SECONDS * SECOND,
    writeAttempts: config.REFRESH_WRITE_ATTEMPTS,
    // One lease plus the write: the longest another worker's refresh can legitimately take.
    leaseWaitMs: leaseWaitMs(config),
    onDemandMarginMs: 5 * MINUTE,
  };
}
