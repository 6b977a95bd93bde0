import { describe, expect, it } from 'vitest';
import { type AccessTokenSource, BitrixRestClient } from '#shared/consumer/rest-client.js';
import { BitrixRestError } from '#shared/core/domain/errors.js';
import { restoreUrl, rewriteUrl } from '#shared/core/domain/url-rewrites.js';

describe('restoreUrl', () => {
  it('undoes a {host} rewrite, so a redirect the emulator sends back keeps the real host', () => {
    // Prepare
    const rewrites = { '*': 'http://127.0.0.1:4567/h/{host}' };
    const real = 'https://new.bitrix24.com/rest/crm.lead.list?x=1';

    // Act
    const restored = restoreUrl(rewriteUrl(real, rewrites), rewrites);

    // Assess
    expect(restored).toBe(real);
  });

  it('undoes an exact-origin rewrite and keeps the origin scheme', () => {
    // Prepare
    const rewrites = { 'http://box.example.com': 'http://127.0.0.1:9000/proxy' };

    // Act
    const restored = restoreUrl('http://127.0.0.1:9000/proxy/rest/profile', rewrites);

    // Assess
    expect(restored).toBe('http://box.example.com/rest/profile');
  });

  it('returns a URL no rewrite produced unchanged', () => {
    // Prepare
    const rewrites = { '*': 'http://127.0.0.1:4567/h/{host}' };

    // Act / Assess
    expect(restoreUrl('https://renamed.bitrix24.com/rest/profile', rewrites)).toBe(
      'https://renamed.bitrix24.com/rest/profile',
    );
    expect(restoreUrl('http://127.0.0.1:9999/h/x/rest/profile', rewrites)).toBe(
      'http://127.0.0.1:9999/h/x/rest/profile',
    );
    expect(restoreUrl('https://a.bitrix24.com/rest/', {})).toBe('https://a.bitrix24.com/rest/');
  });
});

describe('BitrixRestClient redirects', () => {
  /** A portal that answers its first request with a redirect to `location`, and `{result}` anywhere else. */
  function world(clientEndpoint: string, location: string, onPremisePortals?: readonly string[]) {
    const requests: { url: string; body: string }[] = [];
    const moves: string[] = [];
    const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = String(input);
      requests.push({ url, body: String(init?.body) });
      if (requests.length === 1) return new Response('', { status: 302, headers: { location } });
      return new Response(JSON.stringify({ result: { ok: true } }), { status: 200 });
    };
    const tokens: AccessTokenSource = {
      getAccessToken: async () => ({
        accessToken: 'access-token-1',
        expiresAt: 0,
        clientEndpoint,
        domain: new URL(clientEndpoint).host,
        memberId: 'member-1',
        userId: 1,
        version: 1,
      }),
      portalMoved: async (_memberId, _previous, next) => {
        moves.push(next);
      },
    };
    const rest = new BitrixRestClient({ tokens, fetch, onPremisePortals });
    return { rest, requests, moves };
  }

  it.each([
    ['https://old.bitrix24.com/rest/', 'https://new.bitrix24.com/rest/profile', 'https://new.bitrix24.com/rest/'],
    ['https://old.bitrix24.de/rest/', '/rest/profile', 'https://old.bitrix24.de/rest/'],
    ['https://crm.example.org/rest/', 'https://crm.example.org/b24/rest/profile', 'https://crm.example.org/b24/rest/'],
  ])('follows %s → %s, re-POSTs the body and records the new address', async (endpoint, location, moved) => {
    // Prepare
    const { rest, requests, moves } = world(endpoint, location);

    // Act
    const answer = await rest.call('member-1', 'profile');

    // Assess
    expect(answer.result).toEqual({ ok: true });
    expect(requests.map((r) => r.url)).toEqual([`${endpoint}profile`, `${moved}profile`]);
    expect(requests[1]?.body).toBe(requests[0]?.body);
    expect(moves).toEqual([moved]);
  });

  it.each([
    ['https://old.bitrix24.com/rest/', 'https://evil.example/rest/profile'],
    ['https://old.bitrix24.com/rest/', 'https://old.bitrix24.de/rest/profile'],
    ['https://old.bitrix24.com/rest/', 'http://new.bitrix24.com/rest/profile'],
    ['https://old.bitrix24.com/rest/', 'https://new.bitrix24.com.evil.example/rest/profile'],
    ['https://crm.example.org/rest/', 'https://crm2.example.org/rest/profile'],
    ['https://crm.example.org/rest/', 'https://new.bitrix24.com/rest/profile'],
  ])('refuses %s → %s without sending the token there or storing the address', async (endpoint, location) => {
    // Prepare
    const { rest, requests, moves } = world(endpoint, location);

    // Act
    const failure = await rest.call('member-1', 'profile').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(BitrixRestError);
    expect(failure).toMatchObject({ error: 'unexpected_redirect', status: 302 });
    expect(requests).toHaveLength(1);
    expect(moves).toEqual([]);
  });

  it('follows an on-premise portal to another address of the allow-list', async () => {
    // Prepare
    const { rest, requests, moves } = world(
      'https://crm.example.org/rest/',
      'https://crm2.example.org:8443/rest/profile',
      ['crm2.example.org:8443'],
    );

    // Act
    await rest.call('member-1', 'profile');

    // Assess
    expect(requests[1]?.url).toBe('https://crm2.example.org:8443/rest/profile');
    expect(moves).toEqual(['https://crm2.example.org:8443/rest/']);
  });
});
