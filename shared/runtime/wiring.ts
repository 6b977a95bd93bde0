import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { DynamoDbOAuthStateRepository } from '#shared/adapters/dynamodb/oauth-state-repository.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { EventBridgeNotificationPublisher } from '#shared/adapters/eventbridge-notification-publisher.js';
import { LoggingNotificationPublisher } from '#shared/adapters/logging-notification-publisher.js';
import { PowertoolsMetricsRecorder } from '#shared/adapters/powertools-metrics-recorder.js';
import { SecretsManagerCredentials } from '#shared/adapters/secrets-manager-credentials.js';
import type { NotificationPublisher } from '#shared/core/ports/notification-publisher.js';
import type { BitrixOAuthClient, ClientCredentialsProvider } from '#shared/core/ports/oauth-client.js';
import type { OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { PortalListing } from '#shared/core/ports/portal-listing.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { policyFirstRefreshAt } from '#shared/core/use-cases/complete-authorization.js';
import type { OpenInstallPageDeps } from '#shared/core/use-cases/open-install-page.js';
import { refreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import type { SweepDependencies } from '#shared/core/use-cases/sweep-due-tokens.js';
import { documentClient, eventBridgeClient } from './clients.js';
import type { Config } from './config.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';

/**
 * Builds the adapters from a `Config`, for a handler's module scope. Each call makes new adapters over
 * the shared SDK clients; call once per cold start.
 *
 * @example
 * const config = loadConfig();
 * const repository = tokenRepository(config);
 */
export function tokenRepository(config: Config): TokenRepository {
  return new DynamoDbTokenRepository({
    client: documentClient,
    tableName: config.TABLE_NAME,
    dueShards: config.DUE_SHARDS,
  });
}

/** The token-free listing of every portal, for operator views (status page, CLI); never on a request path. */
export function portalListing(config: Config): PortalListing {
  return new DynamoDbTokenRepository({
    client: documentClient,
    tableName: config.TABLE_NAME,
    dueShards: config.DUE_SHARDS,
  });
}

export function oauthStateRepository(config: Config): OAuthStateRepository {
  return new DynamoDbOAuthStateRepository(documentClient, config.TABLE_NAME);
}

export function clientCredentials(config: Config): ClientCredentialsProvider {
  return new SecretsManagerCredentials({
    secretId: config.CLIENT_CREDENTIALS_SECRET_ID,
    maxAgeSeconds: config.CLIENT_CREDENTIALS_MAX_AGE_SECONDS,
  });
}

/** `timeoutMs` overrides `BITRIX_HTTP_TIMEOUT_MS` (the lifecycle handlers use a shorter one); `now` stamps receipt times. */
export function bitrixOAuthClient(
  config: Config,
  credentials = clientCredentials(config),
  timeoutMs = config.BITRIX_HTTP_TIMEOUT_MS,
  now: () => number = Date.now,
): BitrixOAuthClient {
  return new HttpBitrixOAuthClient({
    credentials,
    allowedAuthServers: config.BITRIX_AUTH_SERVERS,
    urlRewrites: config.BITRIX_URL_REWRITES,
    timeoutMs,
    now,
  });
}

/** Parked install claims and their receipts, in the token table. */
export function parkedEventRepository(config: Config): ParkedEventRepository {
  return new DynamoDbParkedEventRepository({
    client: documentClient,
    tableName: config.TABLE_NAME,
    shards: config.PARKED_EVENT_SHARDS,
  });
}

/**
 * Everything the lifecycle use cases need (install events, uninstall, install page, parked claims).
 * The authorization-server client gets `LIFECYCLE_VERIFY_TIMEOUT_MS`: Bitrix24 waits for our answer.
 */
export function lifecycleDependencies(config: Config, now: () => number = Date.now): OpenInstallPageDeps {
  // A new chain's first refresh follows the deployment's refresh policy, as the sweep's do.
  const { policy, refreshTokenLifetimeMs } = refreshSettings(config);
  return {
    tokens: tokenRepository(config),
    parked: parkedEventRepository(config),
    oauth: bitrixOAuthClient(config, clientCredentials(config), config.LIFECYCLE_VERIFY_TIMEOUT_MS),
    allowedAuthServers: config.BITRIX_AUTH_SERVERS,
    refreshTokenLifetimeMs,
    nextRefreshAt: policyFirstRefreshAt(policy, refreshTokenLifetimeMs, now),
    parking: {
      baseDelayMs: config.PARKED_RETRY_BASE_SECONDS * 1000,
      maxDelayMs: config.PARKED_RETRY_MAX_SECONDS * 1000,
      maxAgeMs: config.PARKED_EVENT_MAX_AGE_DAYS * 86_400_000,
    },
    receiptTtlSeconds: config.LIFECYCLE_RECEIPT_TTL_HOURS * 3600,
    defaultServerEndpoint: config.DEFAULT_SERVER_ENDPOINT,
    now,
  };
}

/** Token-status notifications: EventBridge when `EVENT_BUS_NAME` is set, the log otherwise. */
export function notificationPublisher(config: Config): NotificationPublisher {
  if (config.EVENT_BUS_NAME === undefined) return new LoggingNotificationPublisher(logger);
  return new EventBridgeNotificationPublisher({ client: eventBridgeClient, eventBusName: config.EVENT_BUS_NAME });
}

/**
 * Everything the refresh path and the sweep need. `clock` judges leases, due times and expiries (tests
 * pass the emulator's).
 */
export function refreshDependencies(config: Config, clock: () => number = Date.now): SweepDependencies {
  return {
    repository: tokenRepository(config),
    oauth: bitrixOAuthClient(config, clientCredentials(config), config.BITRIX_HTTP_TIMEOUT_MS, clock),
    recovery: new DynamoDbRecoveryStore({ client: documentClient, tableName: config.TABLE_NAME }),
    notifications: notificationPublisher(config),
    metrics: new PowertoolsMetricsRecorder(metrics),
    settings: refreshSettings(config),
    clock,
  };
}
