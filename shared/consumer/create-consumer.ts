import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import type { RefreshDependencies } from '#shared/core/use-cases/refresh-token-set.js';
import { documentClient } from '#shared/runtime/clients.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { refreshDependencies } from '#shared/runtime/wiring.js';
import { refreshPathRefresher } from './refresh-path.js';
import { BitrixRestClient } from './rest-client.js';
import { type ConsumerLogger, type ConsumerTokenStore, TokenClient } from './token-client.js';

export interface TokenConsumerOptions {
  /** @default loadConfig() (the environment `grantConsumer` sets) */
  readonly config?: Config;
  /** The refresh path's adapters and settings. @default refreshDependencies(config) */
  readonly refresh?: RefreshDependencies;
  /** Where token sets are read. @default the token table (DynamoDB) */
  readonly store?: ConsumerTokenStore;
  /** Outbound HTTP for REST calls. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waiting between rate-limited attempts. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** @default the service's Powertools logger */
  readonly logger?: ConsumerLogger;
}

/** A token client and a REST client sharing one in-process cache. */
export interface TokenConsumer {
  readonly tokens: TokenClient;
  readonly rest: BitrixRestClient;
}

/**
 * Builds the consumer library from the environment: token table, the one refresh path (lease + fenced
 * write, client credentials from Secrets Manager), cache and REST settings from `Config`. Call once per
 * process (module scope) so the cache and the single-flight map are shared by all invocations.
 *
 * @example
 * const { tokens, rest } = createTokenConsumer();
 * export const handler = async (event: { memberId: string }) =>
 *   (await rest.call(event.memberId, 'crm.lead.list', { select: ['ID'] })).total;
 */
export function createTokenConsumer(options: TokenConsumerOptions = {}): TokenConsumer {
  const config = options.config ?? loadConfig();
  const refresh = options.refresh ?? refreshDependencies(config);
  const log = options.logger ?? logger;
  const store =
    options.store ??
    new DynamoDbTokenRepository({ client: documentClient, tableName: config.TABLE_NAME, dueShards: config.DUE_SHARDS });
  const tokens = new TokenClient({
    store,
    refresher: refreshPathRefresher(refresh),
    refreshMarginMs: config.CONSUMER_REFRESH_MARGIN_SECONDS * 1000,
    cacheMaxAgeMs: config.CONSUMER_CACHE_SECONDS * 1000,
    touchThrottleMs: config.CONSUMER_TOUCH_THROTTLE_SECONDS * 1000,
    // The refresh path's clock judges expiry; the cache must use the same one.
    now: refresh.clock,
    logger: log,
  });
  const rest = new BitrixRestClient({
    tokens,
    urlRewrites: config.BITRIX_URL_REWRITES,
    timeoutMs: config.BITRIX_REST_TIMEOUT_MS,
    maxAttempts: config.BITRIX_REST_MAX_ATTEMPTS,
    backoffBaseMs: config.BITRIX_REST_BACKOFF_BASE_MS,
    backoffMaxMs: config.BITRIX_REST_BACKOFF_MAX_MS,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    ...(options.random === undefined ? {} : { random: options.random }),
    logger: log,
  });
  return { tokens, rest };
}
