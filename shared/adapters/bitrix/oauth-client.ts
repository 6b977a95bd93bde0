import * as z from 'zod/mini';
import { BitrixOAuthError, httpStatusCode, OWN_ERROR_CODES, ValidationError } from '#shared/core/domain/errors.js';
import type { IssuedTokens } from '#shared/core/domain/token-set.js';
import { rewriteUrl } from '#shared/core/domain/url-rewrites.js';
import type { BitrixOAuthClient, ClientCredentialsProvider } from '#shared/core/ports/oauth-client.js';

/** What `/oauth/token/` answers on success (wire type, snake_case). Only the two tokens are required. */
const nonEmpty = () => z.string().check(z.minLength(1));
/** A whole number sent as a number or as text (both occur). */
const wholeNumber = (min: number) => z.pipe(z.coerce.number(), z.int().check(z.gte(min)));

export const bitrixTokenResponseSchema = z.object({
  access_token: nonEmpty(),
  refresh_token: nonEmpty(),
  expires: z.optional(wholeNumber(1)),
  expires_in: z.optional(wholeNumber(1)),
  client_endpoint: z.url(),
  server_endpoint: z.url(),
  member_id: nonEmpty(),
  user_id: z.optional(wholeNumber(0)),
  scope: z.optional(z.string()),
  status: z.optional(z.string()),
  /** The authorization server's domain in current answers, not the portal: never stored. */
  domain: z.optional(z.string()),
});
export type BitrixTokenResponse = z.output<typeof bitrixTokenResponseSchema>;

const errorBodySchema = z.object({ error: nonEmpty(), error_description: z.optional(z.string()) });

export interface BitrixOAuthClientOptions {
  readonly credentials: ClientCredentialsProvider;
  /** Host names we may send the client secret to. */
  readonly allowedAuthServers: readonly string[];
  readonly urlRewrites?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** Host of an authorization server from `server_endpoint` (`https://oauth.bitrix.info/rest/`) or a bare host. */
export function authServerHost(serverEndpointOrHost: string): string {
  if (/^https?:\/\//i.test(serverEndpointOrHost)) return new URL(serverEndpointOrHost).host.toLowerCase();
  return serverEndpointOrHost.trim().toLowerCase();
}

/** Whether the host is on the allow-list (exact match, no suffix tricks). */
export function isAllowedAuthServer(host: string, allowed: readonly string[]): boolean {
  return allowed.includes(host.toLowerCase());
}

/**
 * Turns a successful wire answer into the domain's `IssuedTokens`, computing absolute times once.
 * Throws `BitrixOAuthError` (transient) when a 200 answer is not a usable token set.
 */
export function parseTokenResponse(body: unknown, receivedAt: number): IssuedTokens {
  const parsed = bitrixTokenResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new BitrixOAuthError(OWN_ERROR_CODES.malformedResponse, 'the token answer lacks required fields', 200);
  }
  const wire = parsed.data;
  const accessExpiresAt =
    wire.expires !== undefined ? wire.expires * 1000 : receivedAt + (wire.expires_in ?? 3600) * 1000;
  return {
    accessToken: wire.access_token,
    refreshToken: wire.refresh_token,
    accessExpiresAt,
    refreshIssuedAt: receivedAt,
    memberId: wire.member_id,
    userId: wire.user_id ?? 0,
    clientEndpoint: wire.client_endpoint,
    serverEndpoint: wire.server_endpoint,
    scope: wire.scope,
    appStatus: wire.status,
  };
}

/**
 * `BitrixOAuthClient` over HTTP. Sends a POST form (keeps the secret and tokens out of URLs and access
 * logs), with a timeout, only to allow-listed servers, and treats any `error` in the body as a failure,
 * even on HTTP 200.
 */
export class HttpBitrixOAuthClient implements BitrixOAuthClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: BitrixOAuthClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  async exchangeCode(input: { authServer: string; code: string }): Promise<IssuedTokens> {
    return this.tokenRequest(input.authServer, { grant_type: 'authorization_code', code: input.code });
  }

  async refresh(input: { serverEndpoint: string; refreshToken: string }): Promise<IssuedTokens> {
    return this.tokenRequest(input.serverEndpoint, { grant_type: 'refresh_token', refresh_token: input.refreshToken });
  }

  private async tokenRequest(server: string, grant: Record<string, string>): Promise<IssuedTokens> {
    const host = authServerHost(server);
    if (!isAllowedAuthServer(host, this.options.allowedAuthServers)) {
      throw new ValidationError('authorization server is not on the allow-list', { details: { host } });
    }
    const { clientId, clientSecret } = await this.options.credentials.get();
    const url = rewriteUrl(`https://${host}/oauth/token/`, this.options.urlRewrites ?? {});
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ ...grant, client_id: clientId, client_secret: clientSecret }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 8000),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new BitrixOAuthError(
        timedOut ? OWN_ERROR_CODES.timeout : OWN_ERROR_CODES.networkError,
        timedOut ? 'no answer in time' : 'request failed',
        0,
        {
          cause: error instanceof Error ? new Error(error.message) : undefined,
          details: { host },
        },
      );
    }
    const receivedAt = this.now();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BitrixOAuthError(OWN_ERROR_CODES.malformedResponse, 'the answer is not JSON', response.status, {
        details: { host },
      });
    }
    const error = errorBodySchema.safeParse(body);
    if (error.success) {
      throw new BitrixOAuthError(error.data.error, error.data.error_description ?? '', response.status, {
        details: { host },
      });
    }
    if (!response.ok) {
      throw new BitrixOAuthError(httpStatusCode(response.status), 'unexpected HTTP status', response.status, {
        details: { host },
      });
    }
    return parseTokenResponse(body, receivedAt);
  }
}
