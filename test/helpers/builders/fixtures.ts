import { randomBytes } from 'node:crypto';
import { BitrixOAuthError } from '#shared/core/domain/errors.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import type { IssuedTokens } from '#shared/core/domain/token-set.js';
import type { NewChainInput } from '#shared/core/ports/token-repository.js';

/** A random 32-hex `member_id`. */
export function memberId(): string {
  return randomBytes(16).toString('hex');
}

/** A token-like random string (never a real token). */
export function token(): string {
  return randomBytes(35).toString('hex');
}

export function issued(overrides: Partial<IssuedTokens> = {}): IssuedTokens {
  const now = overrides.refreshIssuedAt ?? Date.now();
  return {
    accessToken: token(),
    refreshToken: token(),
    accessExpiresAt: now + HOUR,
    refreshIssuedAt: now,
    memberId: memberId(),
    userId: 1,
    clientEndpoint: 'https://portal.bitrix24.com/rest/',
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    scope: 'crm,user',
    appStatus: 'L',
    ...overrides,
  };
}

export function newChain(overrides: Partial<NewChainInput> = {}): NewChainInput {
  const base = issued(overrides);
  return {
    ...base,
    source: 'install_event',
    refreshExpiresAt: base.refreshIssuedAt + 30 * DAY,
    nextRefreshAt: base.accessExpiresAt - 10 * 60_000,
    now: base.refreshIssuedAt,
    ...overrides,
  };
}

/** The error the authorization server's answer turns into (`invalid_grant`, `http_503`, …). */
export function oauthError(error: string, status: number): BitrixOAuthError {
  return new BitrixOAuthError(error, error === 'invalid_grant' ? 'Invalid grant' : 'failure', status);
}
