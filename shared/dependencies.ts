import { DynamoDbOAuthStateRepository } from './adapters/dynamodb-oauth-state-repository.js';
import { DynamoDbTokenRepository } from './adapters/dynamodb-token-repository.js';
import { HttpBitrixOAuthClient } from './adapters/bitrix-oauth-client.js';
import { SecretsManagerCredentials } from './adapters/secrets-manager-credentials.js';
import { documentClient } from './clients.js';
import type { Config } from './config.js';
import type { BitrixOAuthClient, ClientCredentialsProvider } from './ports/oauth-client.js';
import type { OAuthStateRepository } from './ports/oauth-state-repository.js';
import type { PortalListing } from './ports/portal-listing.js';
import type { TokenRepository } from './ports/token-repository.js';

/**
 * Builds the adapters from a `Config`, for a handler's module scope. Each call makes new adapters over
 * the shared SDK clients; call once per cold start.
 *
 * @example
 * const config = loadConfig();
 * const repository = tokenRepository(config);
 */
export function tokenRepository(config: Config): TokenRepository {
  return new DynamoDbTokenRepository({ client: documentClient, tableName: config.TABLE_NAME, dueShards: config.DUE_SHARDS });
}

/** The token-free listing of every portal, for operator views (status page, CLI); never on a request path. */
export function portalListing(config: Config): PortalListing {
  return new DynamoDbTokenRepository({ client: documentClient, tableName: config.TABLE_NAME, dueShards: config.DUE_SHARDS });
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

export function bitrixOAuthClient(config: Config, credentials = clientCredentials(config)): BitrixOAuthClient {
  return new HttpBitrixOAuthClient({
    credentials,
    allowedAuthServers: config.BITRIX_AUTH_SERVERS,
    urlRewrites: config.BITRIX_URL_REWRITES,
    timeoutMs: config.BITRIX_HTTP_TIMEOUT_MS,
  });
}
