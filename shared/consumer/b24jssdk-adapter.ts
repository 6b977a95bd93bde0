/**
 * Lets code written for the official SDK (`@bitrix24/b24jssdk`) use the token service: the SDK's
 * `B24OAuth` keeps making the calls, but it never holds a refresh token and never refreshes by itself;
 * its refresh hook (`setCustomRefreshAuth`) asks the service instead, which refreshes through the one
 * safe path (or hands out the token another process refreshed already).
 *
 * Kept out of the package's main entry (`shared/consumer/index.ts`) so code that does not use the SDK
 * does not bundle it.
 */
import { B24OAuth, EnumAppStatus, type HandlerRefreshAuth, type RestrictionParams } from '@bitrix24/b24jssdk';
import type { AccessToken, GetAccessTokenInput } from '#shared/core/domain/access-token.js';
import { rewriteUrl } from '#shared/core/domain/url-rewrites.js';

/**
 * Stands where the SDK expects a refresh token. The SDK only compares it with `"hook"` (webhook mode);
 * the real refresh token stays in the token table.
 */
export const SDK_REFRESH_TOKEN_PLACEHOLDER = 'held-by-token-service';

/**
 * The SDK requires an authorization-server address and client credentials; with the refresh hook set
 * it never uses them, so none of ours are handed over.
 */
const UNUSED_SERVER_ENDPOINT = 'https://oauth.bitrix.info/rest/';

export interface CreateB24OAuthOptions {
  readonly memberId: string;
  /** Whose token; omitted: the portal's default user (see `getAccessToken`). */
  readonly userId?: number | undefined;
  /** Where tokens come from: a `TokenClient` (the package's default one when built by `createTokenConsumer`). */
  readonly tokens: { getAccessToken(input: GetAccessTokenInput): Promise<AccessToken> };
  /** `BITRIX_URL_REWRITES`: the SDK calls the portal directly, so its base URL is rewritten here. @default {} */
  readonly urlRewrites?: Readonly<Record<string, string>>;
  /** The SDK's own rate limiting (leaky bucket, operating time, retries). */
  readonly restrictionParams?: Partial<RestrictionParams>;
}

/**
 * A `B24OAuth` for one portal user whose tokens come from the token service.
 *
 * When the SDK meets `expired_token` / `invalid_token` (or its copy of the token expired), it calls the
 * refresh hook; the hook reports the version the SDK used as stale, so the service refreshes only if
 * nobody did already, and the SDK retries once with the token it gets back.
 *
 * Limits: the SDK keeps its portal address from construction (a renamed portal needs a new instance),
 * and `B24OAuth` exposes no refresh token (there is none to expose).
 *
 * @example
 * const b24 = await createB24OAuth({ memberId, tokens });
 * const leads = await b24.actions.v2.call.make({ method: 'crm.lead.list', params: { select: ['ID'] } });
 */
export async function createB24OAuth(options: CreateB24OAuthOptions): Promise<B24OAuth> {
  const rewrites = options.urlRewrites ?? {};
  const first = await options.tokens.getAccessToken({ memberId: options.memberId, userId: options.userId });
  const userId = first.userId;
  let version = first.version;
  const b24 = new B24OAuth(
    {
      applicationToken: '',
      userId,
      memberId: first.memberId,
      accessToken: first.accessToken,
      refreshToken: SDK_REFRESH_TOKEN_PLACEHOLDER,
      expires: Math.floor(first.expiresAt / 1000),
      expiresIn: 3600,
      scope: '',
      domain: first.domain,
      clientEndpoint: sdkEndpoint(first.clientEndpoint, rewrites),
      serverEndpoint: UNUSED_SERVER_ENDPOINT,
      status: EnumAppStatus.Local,
      issuer: 'store',
    },
    { clientId: '', clientSecret: '' },
    options.restrictionParams === undefined ? undefined : { restrictionParams: options.restrictionParams },
  );
  b24.setCustomRefreshAuth(async (): Promise<HandlerRefreshAuth> => {
    // The hook runs for two reasons: the SDK's copy expired by its clock (then any valid token will
    // do), or the portal refused the token (then that version is stale and must not come back).
    const expiredLocally = b24.auth.getAuthData() === false;
    const token = await options.tokens.getAccessToken({
      memberId: options.memberId,
      userId,
      staleVersion: expiredLocally ? undefined : version,
    });
    version = token.version;
    return {
      access_token: token.accessToken,
      refresh_token: SDK_REFRESH_TOKEN_PLACEHOLDER,
      expires: String(Math.floor(token.expiresAt / 1000)),
      expires_in: '3600',
      client_endpoint: sdkEndpoint(token.clientEndpoint, rewrites),
      server_endpoint: UNUSED_SERVER_ENDPOINT,
      member_id: token.memberId,
      scope: '',
      status: EnumAppStatus.Local,
      domain: token.domain,
    };
  });
  return b24;
}

/**
 * The portal base as the SDK wants it: it appends `/{method}` (v2) and `/api` (v3) itself, so a
 * trailing slash would make `…/rest//crm.lead.list`.
 */
function sdkEndpoint(clientEndpoint: string, rewrites: Readonly<Record<string, string>>): string {
  return rewriteUrl(clientEndpoint, rewrites).replace(/\/+$/, '');
}
