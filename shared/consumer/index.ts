/**
 * `@bitrix24-token-service/consumer` (docs/CONSUMERS.md): a valid Bitrix24 access token for a portal
 * in one call, and a small REST client on top, for Lambdas in any repository.
 *
 * A consumer only reads: the access token comes straight from the service's token table (a projection
 * the consumer grant allows; never the refresh token) while it is valid, and from the service's token
 * vendor (Lambda Invoke) when it is missing, about to expire or refused — the vendor refreshes through
 * the service's one refresh path, so the refresh chain cannot break.
 *
 * The functions below use one library instance per process, built from the environment on first use
 * (`TokenConsumerAccess.bind(fn)` from the `/cdk` entry sets it). Build your own with
 * `createTokenConsumer` to pass settings, SDK clients or a vendor of your own.
 *
 * @example
 * import { call, getAccessToken, TokenUnavailableError } from '@bitrix24-token-service/consumer';
 * const { result, total } = await call(memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { AccessToken, GetAccessTokenInput } from '#shared/core/domain/access-token.js';
import { SECOND } from '#shared/core/domain/time.js';
import type { Logger } from '#shared/core/ports/logger.js';
import { DynamoDbTokenReader, type TokenReader } from './dynamodb-token-reader.js';
import {
  type BatchCommand,
  type BatchCommandResult,
  type BatchOptions,
  BitrixRestClient,
  type CallOptions,
  type RestParams,
  type RestResult,
} from './rest-client.js';
import { type ConsumerSettings, loadConsumerSettings, requiredResource } from './settings.js';
import { TokenClient } from './token-client.js';
import { lambdaInvoke, type TokenVendor, TokenVendorClient } from './token-vendor-client.js';

export type {
  AccessToken,
  GetAccessTokenInput,
  ReadableInstallation,
  ReadableTokenSet,
} from '#shared/core/domain/access-token.js';
export { chooseDefaultTokenSet, USABLE_STATUSES } from '#shared/core/domain/access-token.js';
export {
  AppError,
  type AppErrorCode,
  BitrixRestError,
  ConfigError,
  isAppError,
  PortalNotFoundError,
  TokenRefreshError,
  TokenUnavailableError,
  type TokenUnavailableReason,
  ValidationError,
} from '#shared/core/domain/errors.js';
export {
  type GetTokenRequest,
  MAX_MIN_VALIDITY_SECONDS,
  VENDOR_CONTRACT_VERSION,
  VENDOR_ERROR_CODES,
  type VendorAnswer,
  type VendorError,
  type VendorErrorCode,
} from '#shared/core/domain/vendor-contract.js';
export type { LogAttributes, Logger } from '#shared/core/ports/logger.js';
export {
  DynamoDbTokenReader,
  type DynamoDbTokenReaderOptions,
  type ReadablePortal,
  type TokenReader,
} from './dynamodb-token-reader.js';
export {
  type AccessTokenSource,
  type BatchCommand,
  type BatchCommandResult,
  type BatchOptions,
  BitrixRestClient,
  type BitrixRestClientOptions,
  type CallOptions,
  type RestParams,
  type RestResult,
  type RestTime,
} from './rest-client.js';
export { CONSUMER_RESOURCE_VARIABLES, type ConsumerSettings, loadConsumerSettings } from './settings.js';
export { TokenClient, type TokenClientOptions } from './token-client.js';
export { lambdaInvoke, type TokenVendor, TokenVendorClient, type VendorInvoke } from './token-vendor-client.js';

export interface TokenConsumerOptions {
  /** @default loadConsumerSettings() (the environment `TokenConsumerAccess.bind` sets) */
  readonly settings?: ConsumerSettings;
  /** Where token sets are read. @default a `DynamoDbTokenReader` on `BITRIX24_TOKEN_TABLE` */
  readonly reader?: TokenReader;
  /** Where tokens are renewed. @default the token vendor `BITRIX24_TOKEN_VENDOR` over Lambda Invoke */
  readonly vendor?: TokenVendor;
  /** The client of the default reader. @default a DynamoDB client from the environment, with short deadlines */
  readonly dynamoDb?: DynamoDBClient;
  /** The client of the default vendor. @default a Lambda client from the environment */
  readonly lambda?: LambdaClient;
  /** Outbound HTTP for REST calls. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waiting between rate-limited attempts. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** The clock expiries are judged by. @default Date.now */
  readonly now?: () => number;
  /** @default warnings and errors as JSON lines on the console */
  readonly logger?: Logger;
}

/** A token client and a REST client sharing one in-process cache. */
export interface TokenConsumer {
  readonly tokens: TokenClient;
  readonly rest: BitrixRestClient;
}

/**
 * Builds the library: the token table reader, the token vendor client, cache and REST settings. Call
 * once per process (module scope) so the cache and the single-flight maps are shared by all
 * invocations of a warm Lambda.
 *
 * @throws ConfigError when a setting is malformed, or a resource is neither set nor passed
 *
 * @example
 * const { tokens, rest } = createTokenConsumer();
 * export const handler = async (event: { memberId: string }) =>
 *   (await rest.call(event.memberId, 'crm.lead.list', { select: ['ID'] })).total;
 */
export function createTokenConsumer(options: TokenConsumerOptions = {}): TokenConsumer {
  const settings = options.settings ?? loadConsumerSettings();
  const logger = options.logger ?? CONSOLE_LOGGER;
  const reader =
    options.reader ??
    new DynamoDbTokenReader({
      client:
        options.dynamoDb ??
        // Reads end quickly or fail: a consumer falls back to the vendor or to a typed error, never hangs.
        new DynamoDBClient({
          maxAttempts: 3,
          requestHandler: { requestTimeout: 2000, connectionTimeout: 1000, throwOnRequestTimeout: true },
        }),
      tableName: requiredResource(settings, 'table'),
    });
  const vendor =
    options.vendor ??
    new TokenVendorClient(lambdaInvoke(options.lambda ?? new LambdaClient({}), requiredResource(settings, 'vendor')));
  const tokens = new TokenClient({
    reader,
    vendor,
    refreshMarginMs: settings.CONSUMER_REFRESH_MARGIN_SECONDS * SECOND,
    cacheMaxAgeMs: settings.CONSUMER_CACHE_SECONDS * SECOND,
    touchThrottleMs: settings.CONSUMER_TOUCH_THROTTLE_SECONDS * SECOND,
    ...(options.now === undefined ? {} : { now: options.now }),
    logger,
  });
  const rest = new BitrixRestClient({
    tokens,
    urlRewrites: settings.BITRIX_URL_REWRITES,
    timeoutMs: settings.BITRIX_REST_TIMEOUT_MS,
    maxAttempts: settings.BITRIX_REST_MAX_ATTEMPTS,
    backoffBaseMs: settings.BITRIX_REST_BACKOFF_BASE_MS,
    backoffMaxMs: settings.BITRIX_REST_BACKOFF_MAX_MS,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    ...(options.random === undefined ? {} : { random: options.random }),
    logger,
  });
  return { tokens, rest };
}

/**
 * Warnings and errors as one JSON line each (Lambda sends them to the function's log group). Lines
 * carry ids, names and codes only: the library never puts a token into a log attribute.
 */
const CONSOLE_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, attributes) => console.warn(JSON.stringify({ level: 'WARN', message, ...attributes })),
  error: (message, attributes) => console.error(JSON.stringify({ level: 'ERROR', message, ...attributes })),
};

let instance: TokenConsumer | undefined;

/** The process's library instance, built on first use (so importing this module never reads the environment). */
function consumer(): TokenConsumer {
  instance ??= createTokenConsumer();
  return instance;
}

/**
 * A usable access token for a portal (and user); never the refresh token. See `TokenClient.getAccessToken`.
 *
 * @throws PortalNotFoundError, TokenUnavailableError (`reason`: reauth_required | payment_required |
 *   invalid_client | uninstalled | refresh_failed), ValidationError
 *
 * @example
 * const token = await getAccessToken({ memberId });
 * // the portal answered expired_token / invalid_token with it:
 * const fresh = await getAccessToken({ memberId, userId: token.userId, staleVersion: token.version });
 */
export function getAccessToken(input: GetAccessTokenInput): Promise<AccessToken> {
  return consumer().tokens.getAccessToken(input);
}

/**
 * Calls one REST method of the portal. See `BitrixRestClient.call`.
 *
 * @throws BitrixRestError, and what `getAccessToken` throws
 *
 * @example
 * const { result, total } = await call<Lead[]>(memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });
 */
export function call<T = unknown>(
  memberId: string,
  method: string,
  params?: RestParams,
  options?: CallOptions,
): Promise<RestResult<T>> {
  return consumer().rest.call<T>(memberId, method, params, options);
}

/**
 * Runs up to 50 commands in one request; each command's result or error. See `BitrixRestClient.batch`.
 *
 * @example
 * const out = await batch(memberId, { me: { method: 'profile' }, leads: { method: 'crm.lead.list' } });
 * if (out.me?.ok) console.log(out.me.result);
 */
export function batch(
  memberId: string,
  commands: Readonly<Record<string, BatchCommand>> | readonly BatchCommand[],
  options?: BatchOptions,
): Promise<Record<string, BatchCommandResult>> {
  return consumer().rest.batch(memberId, commands, options);
}
