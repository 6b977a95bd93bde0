import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BitrixEmulator, EmulatorPortal } from '#local/emulator/index.js';
import type { LambdaHttpServer } from '#local/lambda-http-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { newOpaqueValue } from '#shared/core/domain/authorization-state.js';
import { type DeployedEnv, startDeployedEnv, startOAuthApi } from '#test/helpers/harnesses/deployed-env.js';
import type { TestTable } from '#test/helpers/harnesses/table.js';

const CLIENT = {
  clientId: 'local.oauthflow01.12345678',
  clientSecret: 'OAuthFlowClientSecret0123456789abcdefghijklmno',
};

let deployed: DeployedEnv;
let table: TestTable;
let emulator: BitrixEmulator;
let api: LambdaHttpServer;
let repo: DynamoDbTokenRepository;
let west: EmulatorPortal;
let east: EmulatorPortal;
let other: EmulatorPortal;

beforeAll(async () => {
  deployed = await startDeployedEnv({
    tableName: 'oauth-callback',
    secretId: 'oauth-app',
    client: CLIENT,
    env: { OAUTH_COOKIE_SECURE: 'false', BITRIX_HTTP_TIMEOUT_MS: '1500' },
  });
  ({ table, emulator } = deployed);
  repo = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  west = emulator.addPortal({ domain: 'alpha.bitrix24.com', region: 'west', installed: true });
  east = emulator.addPortal({ domain: 'beta.bitrix24.ru', region: 'east', installed: true });
  other = emulator.addPortal({ domain: 'gamma.bitrix24.de', region: 'west', installed: true });
  api = await startOAuthApi(deployed);
});
afterEach(() => {
  emulator.faults.clear();
});
afterAll(async () => {
  await api.stop();
  await deployed.stop();
});

/** Start → the portal's (auto-approved) consent → the callback URL the portal redirects to. */
async function authorize(portal: EmulatorPortal) {
  const start = await fetch(`${api.url}/oauth/start?${new URLSearchParams({ portal: portal.domain })}`, {
    redirect: 'manual',
  });
  expect(start.status).toBe(302);
  const cookie = start.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const consent = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const callbackUrl = new URL(consent.headers.get('location') ?? '');
  return { cookie, callbackUrl };
}

async function callback(url: URL, cookie?: string) {
  const response = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

function tampered(url: URL, changes: Record<string, string>): URL {
  const copy = new URL(url);
  for (const [name, value] of Object.entries(changes)) copy.searchParams.set(name, value);
  return copy;
}

/** Every installation and token-set item of a portal (state items are not portal data). */
async function portalItems(memberId: string) {
  const { Items } = await table.client.send(
    new ScanCommand({
      TableName: table.tableName,
      FilterExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `PORTAL#${memberId}` } },
    }),
  );
  return Items ?? [];
}

const codeExchanges = (host: string) => emulator.counters.token.byHost[host]?.authorization_code ?? {};

describe('OAuth callback (emulator, DynamoDB Local)', () => {
  it('stores the token set and the installation for a west-region portal and says so', async () => {
    // Prepare
    const { cookie, callbackUrl } = await authorize(west);
    expect(callbackUrl.searchParams.get('server_domain')).toBe('oauth.bitrix.info');
    const exchangedBefore = codeExchanges('oauth.bitrix.info').ok ?? 0;

    // Act
    const page = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('alpha.bitrix24.com</strong> is connected');
    expect(codeExchanges('oauth.bitrix.info').ok).toBe(exchangedBefore + 1);
    const stored = await repo.getTokenSet({ memberId: west.memberId, userId: 1 });
    const [chain] = emulator.chainState(west, 1).filter((c) => c.origin === 'code');
    expect(stored).toMatchObject({
      source: 'oauth_code',
      status: 'active',
      domain: 'alpha.bitrix24.com',
      clientEndpoint: 'https://alpha.bitrix24.com/rest/',
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      accessExpiresAt: chain?.accessExpiresAt,
    });
    expect(emulator.fingerprint(stored?.refreshToken ?? '')).toBe(chain?.refreshFingerprint);
    expect(stored?.nextRefreshAt).toBeGreaterThan(Date.now());
    expect(stored?.nextRefreshAt).toBeLessThan(stored?.accessExpiresAt ?? 0);
    expect(await repo.getInstallation(west.memberId)).toMatchObject({
      status: 'active',
      domain: 'alpha.bitrix24.com',
      clientEndpoint: 'https://alpha.bitrix24.com/rest/',
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
    });
  });

  it('exchanges the code on the RU-region server named in server_domain', async () => {
    // Prepare
    const { cookie, callbackUrl } = await authorize(east);
    expect(callbackUrl.searchParams.get('server_domain')).toBe('oauth.bitrix24.tech');
    const exchangedBefore = codeExchanges('oauth.bitrix24.tech').ok ?? 0;

    // Act
    const page = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(200);
    expect(codeExchanges('oauth.bitrix24.tech').ok).toBe(exchangedBefore + 1);
    expect(await repo.getTokenSet({ memberId: east.memberId, userId: 1 })).toMatchObject({
      domain: 'beta.bitrix24.ru',
      serverEndpoint: 'https://oauth.bitrix24.tech/rest/',
    });
    // The installation's domain is the portal (from client_endpoint), not the answer's `domain`.
    expect(await repo.getInstallation(east.memberId)).toMatchObject({
      domain: 'beta.bitrix24.ru',
      serverEndpoint: 'https://oauth.bitrix24.tech/rest/',
    });
  });

  it('answers a reload of a finished callback with the neutral page and changes nothing', async () => {
    // Prepare
    const { cookie, callbackUrl } = await authorize(west);
    expect((await callback(callbackUrl, cookie)).status).toBe(200);
    const before = await repo.getTokenSet({ memberId: west.memberId, userId: 1 });
    const exchanges = emulator.counters.token.total;

    // Act
    const reload = await callback(callbackUrl, cookie);

    // Assess
    expect(reload.status).toBe(400);
    expect(reload.body).toContain('This link is no longer valid');
    expect(reload.body).not.toContain('alpha.bitrix24.com');
    expect(emulator.counters.token.total).toBe(exchanges);
    expect(await repo.getTokenSet({ memberId: west.memberId, userId: 1 })).toEqual(before);
  });

  it('answers an unknown state identically for a connected member_id and an unknown one', async () => {
    // Prepare: west is connected by the test above or this one
    const { cookie, callbackUrl } = await authorize(west);
    expect((await callback(callbackUrl, cookie)).status).toBe(200);
    const forged = (memberId: string) => tampered(callbackUrl, { state: 'A'.repeat(43), member_id: memberId });

    // Act
    const connected = await callback(forged(west.memberId), cookie);
    const unknown = await callback(forged('0'.repeat(32)), cookie);

    // Assess
    expect(connected.status).toBe(400);
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: connected.status, body: connected.body });
  });

  it("replaces the user's chain on a second authorization, at the next version", async () => {
    // Prepare
    const first = await authorize(other);
    expect((await callback(first.callbackUrl, first.cookie)).status).toBe(200);
    const before = await repo.getTokenSet({ memberId: other.memberId, userId: 1 });
    const second = await authorize(other);

    // Act
    const page = await callback(second.callbackUrl, second.cookie);

    // Assess
    expect(page.status).toBe(200);
    const after = await repo.getTokenSet({ memberId: other.memberId, userId: 1 });
    expect(after?.version).toBe((before?.version ?? 0) + 1);
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(emulator.tokenState(after?.refreshToken ?? '').state).toBe('live');
  });

  it('shows "code expired" with a start-again link when the code is older than 30 s, storing nothing', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'expired.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(portal);
    emulator.clock.advance(31_000);

    // Act
    const page = await callback(callbackUrl, cookie);
    const reload = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(400);
    expect(page.body).toContain('The authorization code has expired');
    expect(page.body).toContain('href="start?portal=expired.bitrix24.com"');
    expect(codeExchanges('oauth.bitrix.info').expired_token).toBeGreaterThanOrEqual(1);
    expect(await portalItems(portal.memberId)).toEqual([]);
    // A reload now has no state: the neutral page, whose link goes to the bare start form.
    expect(reload.status).toBe(400);
    expect(reload.body).toContain('This link is no longer valid');
    expect(reload.body).toContain('href="start"');
  });

  it('treats an error body on HTTP 200 as an error', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'http200.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(portal);
    emulator.clock.advance(31_000);
    emulator.faults.set('token', { errorsAsHttp200: true });

    // Act
    const page = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(400);
    expect(page.body).toContain('The authorization code has expired');
    expect(await portalItems(portal.memberId)).toEqual([]);
  });

  it('refuses a forged state without spending the real one or the code', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'forged.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(portal);
    const exchanges = emulator.counters.token.total;

    // Act
    const forged = await callback(tampered(callbackUrl, { state: newOpaqueValue() }), cookie);
    const garbled = await callback(tampered(callbackUrl, { state: '../../x' }), cookie);
    const missing = await callback(tampered(callbackUrl, { state: '' }), cookie);

    // Assess
    for (const page of [forged, garbled, missing]) {
      expect(page.status).toBe(400);
      expect(page.body).toContain('This link is no longer valid');
    }
    expect(emulator.counters.token.total).toBe(exchanges);
    expect(await portalItems(portal.memberId)).toEqual([]);
    expect((await callback(callbackUrl, cookie)).status).toBe(200);
  });

  it("refuses a callback without the browser cookie or with another browser's, and spends the state", async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'cookie.bitrix24.com', region: 'west', installed: true });
    const withoutCookie = await authorize(portal);
    const otherBrowser = await authorize(portal);
    const exchanges = emulator.counters.token.total;

    // Act
    const missing = await callback(withoutCookie.callbackUrl);
    const mismatched = await callback(otherBrowser.callbackUrl, `b24_oauth_binding=${newOpaqueValue()}`);
    const retried = await callback(otherBrowser.callbackUrl, otherBrowser.cookie);

    // Assess
    for (const page of [missing, mismatched]) {
      expect(page.status).toBe(403);
      expect(page.body).toContain('another browser');
      expect(page.body).toContain('href="start?portal=cookie.bitrix24.com"');
    }
    expect(retried.status).toBe(400);
    expect(emulator.counters.token.total).toBe(exchanges);
    expect(await portalItems(portal.memberId)).toEqual([]);
  });

  it.each(['evil.example', 'oauth.bitrix.info.evil.example', 'evil.example/oauth.bitrix.info'])(
    'refuses server_domain %j with 403 and never sends it the client secret',
    async (serverDomain) => {
      // Prepare
      const { cookie, callbackUrl } = await authorize(other);
      const before = await repo.getTokenSet({ memberId: other.memberId, userId: 1 });
      const exchanges = emulator.counters.token.total;

      // Act
      const page = await callback(tampered(callbackUrl, { server_domain: serverDomain }), cookie);

      // Assess
      expect(page.status).toBe(serverDomain.includes('/') ? 400 : 403);
      expect(emulator.counters.token.total).toBe(exchanges);
      expect(await repo.getTokenSet({ memberId: other.memberId, userId: 1 })).toEqual(before);
    },
  );

  it('refuses tokens for another portal than the callback names (tampered member_id)', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'victim.bitrix24.com', region: 'west', installed: true });
    const attacker = emulator.addPortal({ domain: 'attacker.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(attacker);

    // Act
    const page = await callback(tampered(callbackUrl, { member_id: portal.memberId, domain: portal.domain }), cookie);

    // Assess
    expect(page.status).toBe(400);
    expect(page.body).toContain('not the one Bitrix24 confirmed');
    expect(await portalItems(portal.memberId)).toEqual([]);
    expect(await portalItems(attacker.memberId)).toEqual([]);
  });

  it('says the authorization was declined when the redirect carries error=access_denied with a valid state', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'declined.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(portal);
    const declined = new URL(callbackUrl);
    declined.searchParams.delete('code');
    declined.searchParams.set('error', 'access_denied');

    // Act
    const page = await callback(declined, cookie);
    const replay = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(403);
    expect(page.body).toContain('The authorization was declined');
    expect(page.body).not.toContain('code is missing');
    // The refusal ended the authorization: its state cannot be used with a code afterwards.
    expect(replay.status).toBe(400);
    expect(await portalItems(portal.memberId)).toEqual([]);
  });

  it('answers a callback without any parameter as "not a link from Bitrix24", not as a used link', async () => {
    // Act
    const page = await callback(new URL(`${api.url}/oauth/callback`));

    // Assess
    expect(page.status).toBe(400);
    expect(page.body).toContain('Nothing to finish here');
    expect(page.body).not.toContain('already used');
  });

  it('answers 403 when Bitrix24 refuses the app (payment required), storing nothing', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'unpaid.bitrix24.com', region: 'west', installed: true });
    const { cookie, callbackUrl } = await authorize(portal);
    emulator.setPayment(portal, 'expired');

    // Act
    const page = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(403);
    expect(page.body).toContain('subscription or trial');
    expect(await portalItems(portal.memberId)).toEqual([]);
  });

  it.each([
    ['a 503 page', (e: BitrixEmulator) => e.faults.failNext('token', 1, { status: 503 })],
    ['a 200 answer without tokens', (e: BitrixEmulator) => e.faults.set('token', { malformed200: 'no-tokens' })],
    ['no answer in time', (e: BitrixEmulator) => e.faults.hang('token')],
  ])('answers 502 when the authorization server gives %s, with one attempt and nothing stored', async (_, fault) => {
    // Prepare
    const portal = emulator.addPortal({
      domain: `down${Math.random().toString(36).slice(2, 8)}.bitrix24.com`,
      region: 'west',
      installed: true,
    });
    const { cookie, callbackUrl } = await authorize(portal);
    const faultsBefore = JSON.stringify(emulator.counters.faults.token ?? {});
    fault(emulator);

    // Act
    const page = await callback(callbackUrl, cookie);

    // Assess
    expect(page.status).toBe(502);
    expect(page.body).toContain('Bitrix24 did not answer');
    expect(JSON.stringify(emulator.counters.faults.token ?? {})).not.toBe(faultsBefore);
    expect(await portalItems(portal.memberId)).toEqual([]);
  });
});
