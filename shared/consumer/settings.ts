/**
 * The consumer library's settings, read from the consumer Lambda's environment. `TokenConsumerAccess`
 * (the package's CDK construct) sets the two resource names; the tuning variables are optional.
 */
import { ConfigError } from '#shared/core/domain/errors.js';
import { int, optionalText, parseSettings, type SettingsOf, urlMap } from '#shared/runtime/env-settings.js';

/** How a consumer caches, refreshes and calls the portal. The token vendor reads the first three too. */
export const CONSUMER_TUNING = {
  /**
   * A token this close to expiry is renewed (by the token vendor, through the one refresh path) before
   * it is handed out.
   */
  CONSUMER_REFRESH_MARGIN_SECONDS: int(300),
  /**
   * Longest time a process keeps an access token in memory. The real limit is min(this, expiresAt −
   * margin, the sweep's next refresh), and a consumer that meets `expired_token` drops it at once.
   */
  CONSUMER_CACHE_SECONDS: int(300),
  /** How often a process records that it uses a token set (`lastUsedAt`). */
  CONSUMER_TOUCH_THROTTLE_SECONDS: int(900),
  /** Timeout of one portal REST call (Bitrix24 cloud stops a request after 60 s). */
  BITRIX_REST_TIMEOUT_MS: int(30_000, 100),
  /** Attempts of one REST call while the portal answers `QUERY_LIMIT_EXCEEDED` / `OPERATION_TIME_LIMIT`. */
  BITRIX_REST_MAX_ATTEMPTS: int(4, 1),
  /** Back-off between those attempts: full jitter over base·2ⁿ, capped. */
  BITRIX_REST_BACKOFF_BASE_MS: int(1000),
  BITRIX_REST_BACKOFF_MAX_MS: int(15_000),
} as const;

const schema = {
  /** The service's token table (name or ARN). */
  BITRIX24_TOKEN_TABLE: optionalText(),
  /** The service's token vendor function (name or ARN), called with Lambda Invoke. */
  BITRIX24_TOKEN_VENDOR: optionalText(),
  /** Transport-level redirection of portal URLs, for an emulator or a proxy (the service's own setting). */
  BITRIX_URL_REWRITES: urlMap({}),
  ...CONSUMER_TUNING,
} as const;

export type ConsumerSettings = SettingsOf<typeof schema>;

/** The variables of the two resources, as `TokenConsumerAccess` sets them. */
export const CONSUMER_RESOURCE_VARIABLES = {
  table: 'BITRIX24_TOKEN_TABLE',
  vendor: 'BITRIX24_TOKEN_VENDOR',
} as const satisfies Record<string, keyof ConsumerSettings>;

/**
 * Parses the environment; a bad value throws `ConfigError` with the variable's name. Reads nothing
 * else: the SDK clients take region and credentials from the environment as usual.
 *
 * @example
 * const settings = loadConsumerSettings(); // { BITRIX24_TOKEN_TABLE: 'Bitrix24TokenService-Tokens…', … }
 */
export function loadConsumerSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConsumerSettings {
  const result = parseSettings(schema, env);
  if (!result.ok) throw new ConfigError(`invalid consumer configuration: ${result.problems}`);
  return Object.freeze(result.value);
}

/** A resource variable's value, or a `ConfigError` that says how to set it. */
export function requiredResource(settings: ConsumerSettings, name: keyof typeof CONSUMER_RESOURCE_VARIABLES): string {
  const variable = CONSUMER_RESOURCE_VARIABLES[name];
  const value = settings[variable];
  if (value === undefined) {
    throw new ConfigError(
      `${variable} is not set: bind the function with TokenConsumerAccess (the package's /cdk entry) or pass the ${name} to createTokenConsumer`,
    );
  }
  return value;
}
