import { describe, expect, it } from 'vitest';
import { authServerHost, isAllowedAuthServer, parseTokenResponse } from '#shared/adapters/bitrix/oauth-client.js';
import { BitrixOAuthError, categorizeOAuthError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import { sampleJson } from '#test/helpers/builders/bitrix24-samples.js';

const sample = sampleJson;

describe('parseTokenResponse', () => {
  it('reads the documented refresh answer, using `expires` as the access expiry', () => {
    // Prepare
    const body = sample('refresh-response.docs-en.json');

    // Act
    const tokens = parseTokenResponse(body, 1_000);

    // Assess
    expect(tokens).toMatchObject({
      accessExpiresAt: 1780319382 * 1000,
      refreshIssuedAt: 1_000,
      memberId: 'a223c6b3710f85df22e9377d6c4f7553',
      userId: 67,
      clientEndpoint: 'https://portal.bitrix24.com/rest/',
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      appStatus: 'F',
    });
  });

  it('falls back to expires_in when `expires` is absent (documented exchange answer, RU region)', () => {
    const tokens = parseTokenResponse(sample('token-exchange-response.docs-ru.json'), 10_000);
    expect(tokens.accessExpiresAt).toBe(10_000 + HOUR);
    expect(tokens.serverEndpoint).toBe('https://oauth.bitrix24.tech/rest/');
  });

  it('refuses a 200 answer without tokens as a transient failure', () => {
    const attempt = () => parseTokenResponse({ result: 'ok' }, 0);
    expect(attempt).toThrow(BitrixOAuthError);
    try {
      attempt();
    } catch (error) {
      expect((error as BitrixOAuthError).category).toBe('transient');
    }
  });
});

describe('categorizeOAuthError', () => {
  it('separates dead chains, bad clients, payment, used codes and transient faults', () => {
    expect(categorizeOAuthError('invalid_grant', 400)).toBe('invalid_grant');
    expect(categorizeOAuthError('invalid_client', 401)).toBe('invalid_client');
    expect(categorizeOAuthError('PAYMENT_REQUIRED', 200)).toBe('payment_required');
    expect(categorizeOAuthError('expired_token', 400)).toBe('expired_code');
    expect(categorizeOAuthError('http_503', 503)).toBe('transient');
    expect(categorizeOAuthError('something_new', 400)).toBe('transient');
  });
});

describe('authorization server allow-list', () => {
  it('matches hosts exactly, from an endpoint URL or a bare host', () => {
    const allowed = ['oauth.bitrix.info', 'oauth.bitrix24.tech'];
    expect(isAllowedAuthServer(authServerHost('https://oauth.bitrix.info/rest/'), allowed)).toBe(true);
    expect(isAllowedAuthServer(authServerHost('OAUTH.bitrix24.tech'), allowed)).toBe(true);
    expect(isAllowedAuthServer(authServerHost('https://oauth.bitrix.info.evil.com/rest/'), allowed)).toBe(false);
    expect(isAllowedAuthServer(authServerHost('https://evil.com/oauth.bitrix.info/'), allowed)).toBe(false);
  });
});
