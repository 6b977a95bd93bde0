import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BitrixEmulator,
  type EmulatorPortal,
  type Region,
  startBitrixEmulator,
  tokenTimestamp,
} from '#local/emulator/index.js';
import { restRequest, tokenRequest } from './helpers.js';

const APP = {
  clientId: 'local.6a1b2c3d4e5f60.11111111',
  clientSecret: 'AppSecretAppSecretAppSecretAppSecretAppSecret01',
  redirectUri: 'https://app.example.com/oauth/callback?src=b24',
};
const OTHER_APP = {
  clientId: 'app.6a1b2c3d4e5f61.22222222',
  clientSecret: 'OtherSecretOtherSecretOtherSecretOtherSecret02',
  redirectUri: 'https://other.example.com/callback',
};
const START = Date.UTC(2026, 2, 1, 12, 0, 0);

let emulator: BitrixEmulator;
let portalCounter = 0;

/** A fresh portal per test, so state changes (payment, uninstall) stay local. */
function newPortal(region: Region = 'west', installed: boolean | string[] = true): EmulatorPortal {
  portalCounter += 1;
  const tld = region === 'east' ? 'ru' : 'com';
  return emulator.addPortal({
    domain: `p${portalCounter}.bitrix24.${tld}`,
    region,
    installed,
    users: [
      { id: 1, admin: true, name: 'Ada' },
      { id: 7, name: 'Bob' },
    ],
  });
}

async function authorize(portal: EmulatorPortal, query: Record<string, string>): Promise<Response> {
  const url = new URL(`https://${portal.domain}/oauth/authorize/`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return fetch(emulator.urlFor(url.toString()), { redirect: 'manual' });
}

async function codeFor(portal: EmulatorPortal, userId = 1): Promise<string> {
  const response = await authorize(portal, { client_id: APP.clientId, state: 's', user_id: String(userId) });
  const code = new URL(response.headers.get('location') ?? 'x:').searchParams.get('code');
  if (code === null) throw new Error('no code in redirect');
  return code;
}

async function exchange(code: string, host = 'oauth.bitrix.info') {
  return tokenRequest(
    emulator,
    { grant_type: 'authorization_code', client_id: APP.clientId, client_secret: APP.clientSecret, code },
    { host },
  );
}

async function refresh(refreshToken: string, credentials = APP, host = 'oauth.bitrix.info') {
  return tokenRequest(
    emulator,
    {
      grant_type: 'refresh_token',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
      refresh_token: refreshToken,
    },
    { host },
  );
}

function str(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

beforeAll(async () => {
  emulator = await startBitrixEmulator({ apps: [APP, OTHER_APP], clock: { frozen: true, startAt: START } });
});

afterAll(async () => {
  await emulator.stop();
});

describe('portal /oauth/authorize/', () => {
  it('redirects to the registered redirect_uri with code, state, domain, member_id, scope and server_domain (west)', async () => {
    // Prepare
    const portal = newPortal('west');

    // Act
    const response = await authorize(portal, { client_id: APP.clientId, state: 'JJHg sdg/+=' });

    // Assess
    expect(response.status).toBe(302);
    const location = response.headers.get('location') ?? '';
    expect(location.startsWith('https://app.example.com/oauth/callback?src=b24&code=')).toBe(true);
    expect(location).toContain('scope=crm%2Cuser_brief%2Cplacement');
    const params = new URL(location).searchParams;
    expect(params.get('code')).toMatch(/^[0-9a-f]{70}$/);
    expect(params.get('state')).toBe('JJHg sdg/+=');
    expect(params.get('domain')).toBe(portal.domain);
    expect(params.get('member_id')).toBe(portal.memberId);
    expect(params.get('scope')).toBe('crm,user_brief,placement');
    expect(params.get('server_domain')).toBe('oauth.bitrix.info');
  });

  it('names oauth.bitrix24.tech as server_domain for an east portal and echoes an empty state= when none was sent', async () => {
    // Prepare
    const portal = newPortal('east');

    // Act
    const response = await authorize(portal, { client_id: APP.clientId });

    // Assess
    const location = response.headers.get('location') ?? '';
    expect(location).toContain('&state=&');
    expect(new URL(location).searchParams.get('server_domain')).toBe('oauth.bitrix24.tech');
  });

  it('shows an error page (200, no redirect) when the app is not installed on the portal', async () => {
    // Prepare
    const portal = newPortal('west', false);

    // Act
    const response = await authorize(portal, { client_id: APP.clientId, state: 'x' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('not installed');
  });

  it('shows an error page for an unknown client_id', async () => {
    // Prepare
    const portal = newPortal();

    // Act
    const response = await authorize(portal, { client_id: 'local.nope.0', state: 'x' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('Authorization error');
  });
});

describe('/oauth/token/ with grant_type=authorization_code', () => {
  it('exchanges a code by GET query and answers the real token shape', async () => {
    // Prepare
    const portal = newPortal();
    const code = await codeFor(portal, 7);

    // Act
    const answer = await tokenRequest(
      emulator,
      { grant_type: 'authorization_code', client_id: APP.clientId, client_secret: APP.clientSecret, code },
      { method: 'GET' },
    );

    // Assess
    expect(answer.status).toBe(200);
    const expires = Math.floor(emulator.clock.now() / 1000) + 3600;
    expect(answer.body).toMatchObject({
      expires,
      expires_in: 3600,
      scope: 'crm,user_brief,placement',
      domain: 'oauth.bitrix.info',
      server_endpoint: 'https://oauth.bitrix.info/rest/',
      status: 'L',
      client_endpoint: `https://${portal.domain}/rest/`,
      member_id: portal.memberId,
      user_id: 7,
    });
    const access = str(answer.body.access_token);
    const refreshToken = str(answer.body.refresh_token);
    expect(access).toMatch(/^[0-9a-f]{70}$/);
    expect(tokenTimestamp(access)).toBe(expires);
    expect(tokenTimestamp(refreshToken)).toBe(Math.floor(emulator.clock.now() / 1000) + 30 * 86_400);
  });

  it('exchanges a code by POST form through oauth.bitrix24.tech for an east portal', async () => {
    // Prepare
    const portal = newPortal('east');
    const code = await codeFor(portal);

    // Act
    const answer = await exchange(code, 'oauth.bitrix24.tech');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.domain).toBe('oauth.bitrix24.tech');
    expect(answer.body.server_endpoint).toBe('https://oauth.bitrix24.tech/rest/');
    expect(answer.body.client_endpoint).toBe(`https://${portal.domain}/rest/`);
  });

  it('answers expired_token for a code older than 30 s on the emulator clock', async () => {
    // Prepare
    const portal = newPortal();
    const code = await codeFor(portal);
    emulator.clock.advance(30_001);

    // Act
    const answer = await exchange(code);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'expired_token',
      error_description: 'The authorization token provided has expired.',
    });
  });

  it('answers expired_token when a code is used twice', async () => {
    // Prepare
    const portal = newPortal();
    const code = await codeFor(portal);
    const first = await exchange(code);

    // Act
    const second = await exchange(code);

    // Assess
    expect(first.status).toBe(200);
    expect(second.body.error).toBe('expired_token');
  });

  it('answers invalid_client for a wrong secret and invalid_request for missing parameters', async () => {
    // Prepare
    const portal = newPortal();
    const code = await codeFor(portal);

    // Act
    const wrongSecret = await tokenRequest(emulator, {
      grant_type: 'authorization_code',
      client_id: APP.clientId,
      client_secret: 'nope',
      code,
    });
    const missing = await tokenRequest(emulator, { grant_type: 'authorization_code', client_id: APP.clientId, code });

    // Assess
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
  });
});

describe('/oauth/token/ with grant_type=refresh_token', () => {
  it('rotates the pair: the new one works, the old refresh token is invalid_grant and the old access token expired_token', async () => {
    // Prepare
    const portal = newPortal();
    const first = emulator.issueTokens(portal, 1);

    // Act
    const rotated = await refresh(first.refreshToken);
    const reused = await refresh(first.refreshToken);
    const oldAccess = await restRequest(emulator, portal.domain, 'profile', { auth: first.accessToken });
    const newAccess = await restRequest(emulator, portal.domain, 'profile', { auth: str(rotated.body.access_token) });

    // Assess
    expect(rotated.status).toBe(200);
    expect(rotated.body.scope).toBe('app');
    expect(rotated.body.refresh_token).not.toBe(first.refreshToken);
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({
      error: 'invalid_grant',
      error_description: 'The provided authorization grant is invalid, expired, revoked',
    });
    expect(oldAccess.status).toBe(401);
    expect(oldAccess.body).toEqual({
      error: 'expired_token',
      error_description: 'The access token provided has expired',
    });
    expect(newAccess.status).toBe(200);
    const [chain] = emulator.chainState(portal, 1);
    expect(chain?.generation).toBe(1);
    expect(chain?.refreshFingerprint).toBe(emulator.fingerprint(str(rotated.body.refresh_token)));
  });

  it('refuses a refresh token once 30 days of emulator time have passed', async () => {
    // Prepare
    const portal = newPortal();
    const young = emulator.issueTokens(portal, 1);
    const old = emulator.issueTokens(portal, 1);
    emulator.clock.advance(30 * 86_400_000 - 1_000);
    const beforeExpiry = await refresh(young.refreshToken);
    emulator.clock.advance(2_000);

    // Act
    const afterExpiry = await refresh(old.refreshToken);

    // Assess
    expect(beforeExpiry.status).toBe(200);
    expect(afterExpiry.status).toBe(400);
    expect(afterExpiry.body.error).toBe('invalid_grant');
  });

  it('keeps independent chains independent', async () => {
    // Prepare
    const portal = newPortal();
    const install = await emulator.install(portal, { sendEvent: false });
    const frame = emulator.issueTokens(portal, 1, { origin: 'frame' });
    const code = await exchange(await codeFor(portal));

    // Act
    const refreshedInstall = await refresh(install.tokens?.refreshToken ?? '');
    const refreshedFrame = await refresh(frame.refreshToken);
    const refreshedCode = await refresh(str(code.body.refresh_token));
    const frameAccessAfterOtherRefreshes = await restRequest(emulator, portal.domain, 'profile', {
      auth: str(refreshedFrame.body.access_token),
    });

    // Assess
    expect([refreshedInstall.status, refreshedFrame.status, refreshedCode.status]).toEqual([200, 200, 200]);
    expect(frameAccessAfterOtherRefreshes.status).toBe(200);
    expect(emulator.chainState(portal, 1).map((chain) => chain.origin)).toEqual(['install', 'frame', 'code']);
  });

  it("answers invalid_client for an unknown client or wrong secret, invalid_grant for another app's valid credentials", async () => {
    // Prepare
    const portal = newPortal('west', [APP.clientId, OTHER_APP.clientId]);
    const tokens = emulator.issueTokens(portal, 1);

    // Act
    const wrongSecret = await refresh(tokens.refreshToken, { ...APP, clientSecret: 'wrong' });
    const unknownClient = await refresh(tokens.refreshToken, { ...APP, clientId: 'local.unknown.1' });
    const otherApp = await refresh(tokens.refreshToken, OTHER_APP);
    const ownApp = await refresh(tokens.refreshToken);

    // Assess
    expect(wrongSecret.body.error).toBe('invalid_client');
    expect(wrongSecret.status).toBe(401);
    expect(unknownClient.body.error).toBe('invalid_client');
    expect(otherApp.body.error).toBe('invalid_grant');
    expect(ownApp.status).toBe(200);
  });

  it('answers PAYMENT_REQUIRED while payment is expired, without consuming the refresh token', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal, 1);
    emulator.setPayment(portal, 'expired');

    // Act
    const whileExpired = await refresh(tokens.refreshToken);
    emulator.setPayment(portal, 'ok');
    const afterPayment = await refresh(tokens.refreshToken);

    // Assess
    expect(whileExpired.body).toEqual({ error: 'PAYMENT_REQUIRED', error_description: 'Payment required' });
    expect(afterPayment.status).toBe(200);
  });

  it('sends error bodies with HTTP 200 under the errorsAsHttp200 fault', async () => {
    // Prepare
    emulator.faults.set('token', { errorsAsHttp200: true });

    // Act
    const answer = await refresh('0'.repeat(70));
    emulator.faults.clear();

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.error).toBe('invalid_grant');
  });

  it('refuses the tokens of an uninstalled app: refresh invalid_client (the app is not installed there), REST invalid_token; after a reinstall the old chain is invalid_grant', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal, 1);
    await emulator.uninstall(portal, { sendEvent: false });

    // Act
    const refreshed = await refresh(tokens.refreshToken);
    const rest = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    await emulator.install(portal, { sendEvent: false });
    const afterReinstall = await refresh(tokens.refreshToken);

    // Assess
    expect(refreshed.status).toBe(401);
    expect(refreshed.body).toEqual({
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    expect(rest.status).toBe(401);
    expect(rest.body.error).toBe('invalid_token');
    expect(emulator.chainState(portal)[0]?.state).toBe('revoked');
    expect(afterReinstall.body.error).toBe('invalid_grant');
  });

  it('answers PORTAL_DELETED for a deleted portal: on the token endpoint without spending the token, and HTTP 500 on REST', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal, 1);
    emulator.deletePortal(portal);

    // Act
    const refreshed = await refresh(tokens.refreshToken);
    const rest = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });

    // Assess
    expect(refreshed.body).toEqual({ error: 'PORTAL_DELETED', error_description: 'Portal was deleted' });
    expect(rest.status).toBe(500);
    expect(rest.body.error).toBe('PORTAL_DELETED');
    expect(emulator.tokenState(tokens.refreshToken).state).toBe('live');
  });

  it('counts refreshes per portal and per authorization-server host', async () => {
    // Prepare
    const east = newPortal('east');
    const tokens = emulator.issueTokens(east, 1);

    // Act
    const answer = await refresh(tokens.refreshToken, APP, 'oauth.bitrix24.tech');

    // Assess
    expect(answer.body.server_endpoint).toBe('https://oauth.bitrix24.tech/rest/');
    expect(emulator.refreshCount(east)).toBe(1);
    expect(emulator.refreshCount(east, 'oauth.bitrix24.tech')).toBe(1);
    expect(emulator.refreshCount(east, 'oauth.bitrix.info')).toBe(0);
    expect(emulator.counters.token.byHost['oauth.bitrix24.tech']?.refresh_token?.ok).toBeGreaterThanOrEqual(1);
  });
});

describe('app.info on the authorization server', () => {
  it('names the app, the portal and the user a token belongs to', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal, 7);

    // Act
    const answer = await fetch(emulator.urlFor(`https://oauth.bitrix.info/rest/app.info?auth=${tokens.accessToken}`));
    const body: unknown = await answer.json();

    // Assess
    expect(answer.status).toBe(200);
    expect(body).toMatchObject({
      result: {
        client_id: APP.clientId,
        member_id: portal.memberId,
        user_id: 7,
        install: {
          installed: true,
          uri: `https://${portal.domain}/`,
          version: 1,
          status: 'L',
          member_id: portal.memberId,
        },
      },
      time: { date_start: expect.any(String) },
    });
  });

  it('answers 401 invalid_token for an unknown token', async () => {
    // Act
    const answer = await fetch(emulator.urlFor(`https://oauth.bitrix.info/rest/app.info?auth=${'a'.repeat(70)}`));

    // Assess
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'invalid_token' });
  });
});
