import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BitrixEmulator } from '#local/emulator/index.js';
import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { DynamoDbCredentialsHealth } from '#shared/adapters/dynamodb/credentials-health.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { MINUTE } from '#shared/core/domain/time.js';
import { type Logger, SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { NotificationPublisher } from '#shared/core/ports/notification-publisher.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { RefreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import type { SweepDeps } from '#shared/core/use-cases/sweep-due-tokens.js';
import { watchCredentials } from '#shared/core/use-cases/watch-credentials.js';

/**
 * The HTTP OAuth client as production wires it (both Bitrix24 authorization servers allowed, URL
 * rewrites to the emulator by default), on the emulator's clock.
 */
export function emulatorOAuthClient(
  emulator: BitrixEmulator,
  options: {
    credentials: { clientId: string; clientSecret: string };
    timeoutMs: number;
    urlRewrites?: Record<string, string>;
  },
): HttpBitrixOAuthClient {
  return new HttpBitrixOAuthClient({
    credentials: { get: async () => options.credentials },
    allowedAuthServers: ['oauth.bitrix.info', 'oauth.bitrix24.tech'],
    urlRewrites: options.urlRewrites ?? emulator.urlRewrites,
    timeoutMs: options.timeoutMs,
    now: () => emulator.clock.now(),
  });
}

/**
 * The refresh path's dependencies on the emulator's clock with a DynamoDB recovery store and
 * credentials health in `tableName` (the OAuth client records acceptances, as wired in production);
 * jitter sits in the middle of its range so due times are deterministic.
 */
export function emulatorRefreshDeps(parts: {
  emulator: BitrixEmulator;
  client: DynamoDBClient;
  tableName: string;
  repository: SweepDeps['repository'];
  oauth: BitrixOAuthClient;
  /** The credentials the process holds: acceptances are recorded and read for these. */
  credentials: { clientId: string; clientSecret: string };
  notifications: NotificationPublisher;
  metrics: MetricsRecorder;
  settings: RefreshSettings;
  logger?: Logger;
  /** Record that our credentials were accepted, as the sweep does (the token vendor does not). @default true */
  recordCredentials?: boolean;
}): SweepDeps {
  const clock = () => parts.emulator.clock.now();
  const logger = parts.logger ?? SILENT_LOGGER;
  const credentials = new DynamoDbCredentialsHealth({
    client: parts.client,
    tableName: parts.tableName,
    credentials: { get: async () => parts.credentials },
  });
  return {
    repository: parts.repository,
    oauth:
      parts.recordCredentials === false
        ? parts.oauth
        : watchCredentials(parts.oauth, { health: credentials, now: clock, everyMs: MINUTE, logger }),
    recovery: new DynamoDbRecoveryStore({ client: parts.client, tableName: parts.tableName }),
    credentials,
    notifications: parts.notifications,
    metrics: parts.metrics,
    logger,
    settings: parts.settings,
    clock,
    random: () => 0.5,
  };
}
