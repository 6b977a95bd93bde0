import { HOUR } from '#shared/core/domain/time.js';
import { domainFromEndpoint, type Installation, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import { token } from './fixtures.js';

/** A stored token set with sensible defaults. */
export function tokenSet(overrides: Partial<TokenSet> & TokenKey): TokenSet {
  const now = overrides.updatedAt ?? 1_000_000_000_000;
  const clientEndpoint = overrides.clientEndpoint ?? 'https://portal.bitrix24.com/rest/';
  return {
    accessToken: token(),
    refreshToken: token(),
    accessExpiresAt: now + HOUR,
    refreshIssuedAt: now,
    refreshExpiresAt: now + 30 * 24 * HOUR,
    clientEndpoint,
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    domain: domainFromEndpoint(clientEndpoint),
    status: 'active',
    source: 'install_event',
    version: 1,
    consecutiveFailures: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function installation(overrides: Partial<Installation> & { memberId: string }): Installation {
  return {
    domain: 'portal.bitrix24.com',
    clientEndpoint: 'https://portal.bitrix24.com/rest/',
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    status: 'active',
    installedAt: 0,
    version: 1,
    updatedAt: 0,
    ...overrides,
  };
}
