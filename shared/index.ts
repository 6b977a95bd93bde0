/**
 * The token service's library for other Lambdas (docs/CONSUMERS.md): a valid access token for a
 * portal in one call, and a small Bitrix24 REST client on top. Consumers never see a refresh token and
 * never refresh by themselves: every refresh goes through the service's one refresh path (lease,
 * authorization server, fenced write), so the refresh chain cannot break.
 *
 * The functions below use one library instance per process, built from the environment on first use
 * (`tokenService.grantConsumer(fn)` in CDK sets it). Build your own with `createTokenConsumer` to
 * inject settings or adapters.
 *
 * @example
 * import { call, getAccessToken, TokenUnavailableError } from '#shared/index.js';
 * const { result, total } = await call(memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });
 */
import type { AccessToken, GetAccessTokenInput } from './consumer/access-token.js';
import type {
  BatchCommand,
  BatchCommandResult,
  BatchOptions,
  CallOptions,
  RestParams,
  RestResult,
} from './consumer/rest-client.js';
import { createTokenConsumer, type TokenConsumer } from './runtime/consumer.js';

export type { AccessToken, GetAccessTokenInput } from './consumer/access-token.js';
export { chooseDefaultTokenSet, USABLE_STATUSES } from './consumer/access-token.js';
export { refreshPathRefresher } from './consumer/refresh-path.js';
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
} from './consumer/rest-client.js';
export {
  type ConsumerRefreshInput,
  type ConsumerTokenStore,
  TokenClient,
  type TokenClientOptions,
  type TokenRefresher,
} from './consumer/token-client.js';
export {
  AppError,
  type AppErrorCode,
  BitrixRestError,
  isAppError,
  PortalNotFoundError,
  TokenRefreshError,
  TokenUnavailableError,
  type TokenUnavailableReason,
  ValidationError,
} from './core/domain/errors.js';
export type { LogAttributes, Logger } from './core/ports/logger.js';
export { createTokenConsumer, type TokenConsumer, type TokenConsumerOptions } from './runtime/consumer.js';

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
