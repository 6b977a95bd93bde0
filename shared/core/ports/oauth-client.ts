import type { IssuedTokens } from '#shared/core/domain/token-set.js';

/** The app's own credentials from the partner cabinet / local app card. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Reads the app's client credentials (cached with a finite age). */
export interface ClientCredentialsProvider {
  get(): Promise<ClientCredentials>;
}

/**
 * The app's client id alone. It is public (it is in every authorize URL), so the anonymous start of
 * the code flow gets it from here and never holds the client secret.
 *
 * @example
 * const query = new URLSearchParams({ client_id: await ids.clientId(), state });
 */
export interface ClientIdProvider {
  clientId(): Promise<string>;
}

/**
 * Bitrix24's authorization server (`/oauth/token/`). Errors are `BitrixOAuthError` with a `category`.
 *
 * @example
 * const issued = await oauth.refresh({ serverEndpoint: 'https://oauth.bitrix.info/rest/', refreshToken });
 */
export interface BitrixOAuthClient {
  /** Exchanges an authorization code (30 s life) on the server named by the callback's `server_domain`. */
  exchangeCode(input: { readonly authServer: string; readonly code: string }): Promise<IssuedTokens>;
  /** Spends a refresh token and returns the next pair of its chain. */
  refresh(input: { readonly serverEndpoint: string; readonly refreshToken: string }): Promise<IssuedTokens>;
}
