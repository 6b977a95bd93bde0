import { refreshPathRefresher } from '#shared/consumer/refresh-path.js';
import { BitrixRestClient } from '#shared/consumer/rest-client.js';
import { type ConsumerTokenStore, TokenClient } from '#shared/consumer/token-client.js';
import { SECOND } from '#shared/core/domain/time.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { RefreshDeps } from '#shared/core/use-cases/refresh-token-set.js';
import { type Config, loadConfig } from './config.js';
import { wire } from './wiring.js';

export interface TokenConsumerOptions {
  /** @default loadConfig() (the environment `grantConsumer` sets) */
  readonly config?: Config;
  /** The refresh path's adapters and settings. @default wire(config).refresh */
  readonly refresh?: RefreshDeps;
  /** Where token sets are read. @default the token table (DynamoDB) */
  readonly store?: ConsumerTokenStore;
  /** Outbound HTTP for REST calls. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waiting between rate-limited attempts. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** @default the service's Powertools logger */
  readonly logger?: Logger;
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
  const wiring = wire(config);
  const refresh = options.refresh ?? wiring.refresh;
  const log = options.logger ?? wiring.logger;
  const store = options.store ?? wiring.tokens;
  const tokens = new TokenClient({
    store,
    refresher: refreshPathRefresher(refresh),
    refreshMarginMs: config.CONSUMER_REFRESH_MARGIN_SECONDS * SECOND,
    cacheMaxAgeMs: config.CONSUMER_CACHE_SECONDS * SECOND,
    touchThrottleMs: config.CONSUMER_TOUCH_THROTTLE_SECONDS * SECOND,
    // The refresh path's clock judges expiry; the cache must use the same one.
    now: refresh.clock,
    logger: log,
  });
  const rest = new BitrixRestClient({
    tokens,
    urlRewrites: config.BITRIX_URL_REWRITES,
    onPremisePortals: config.BITRIX_ON_PREMISE_PORTALS,
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
