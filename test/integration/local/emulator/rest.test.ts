import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BitrixEmulator,
  type EmulatorPortal,
  type PortalOptions,
  startBitrixEmulator,
} from '#local/emulator/index.js';
import { sampleJson } from '#test/helpers/builders/bitrix24-samples.js';
import { at, restRequest, tokenRequest } from './helpers.js';

const APP = {
  clientId: 'local.7a1b2c3d4e5f60.33333333',
  clientSecret: 'RestSecretRestSecretRestSecretRestSecretRest03',
};
const NARROW_APP = {
  clientId: 'local.7a1b2c3d4e5f61.44444444',
  clientSecret: 'NarrowSecretNarrowSecretNarrowSecretNarrow04',
  scope: ['user_brief'],
};

let emulator: BitrixEmulator;
let portalCounter = 0;

function newPortal(options: Partial<PortalOptions> = {}): EmulatorPortal {
  portalCounter += 1;
  return emulator.addPortal({
    domain: `rest${portalCounter}.bitrix24.com`,
    region: 'west',
    installed: true,
    ...options,
  });
}

beforeAll(async () => {
  emulator = await startBitrixEmulator({
    apps: [APP, NARROW_APP],
    clock: { frozen: true, startAt: Date.UTC(2026, 3, 1) },
  });
});

afterAll(async () => {
  await emulator.stop();
});

describe('portal REST methods', () => {
  it('answers app.info with the documented fields and a time block', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    const sample: unknown = sampleJson('app-info-response.docs.json');

    // Act
    const answer = await restRequest(emulator, portal.domain, 'app.info.json', { auth: tokens.accessToken });

    // Assess
    expect(answer.status).toBe(200);
    expect(Object.keys(at(answer.body, 'result') ?? {}).sort()).toEqual(Object.keys(at(sample, 'result') ?? {}).sort());
    expect(answer.body.result).toMatchObject({ INSTALLED: true, STATUS: 'L', VERSION: 1, PAYMENT_EXPIRED: 'N' });
    expect(Object.keys(at(answer.body, 'time') ?? {})).toEqual(
      expect.arrayContaining(['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish', 'operating']),
    );
  });

  it('answers profile and scope for the token owner, with auth in a POST form or a JSON body', async () => {
    // Prepare
    const portal = newPortal({
      users: [
        { id: 1, admin: true, name: 'Ada', lastName: 'L' },
        { id: 5, name: 'Bob' },
      ],
    });
    const tokens = emulator.issueTokens(portal, 5);

    // Act
    const profile = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken }, { post: true });
    const scope = await fetch(emulator.urlFor(`https://${portal.domain}/rest/scope.json`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: tokens.accessToken }),
    });

    // Assess
    expect(profile.body.result).toEqual({
      ID: '5',
      ADMIN: false,
      NAME: 'Bob',
      LAST_NAME: '',
      PERSONAL_GENDER: '',
      TIME_ZONE: '',
    });
    expect(await scope.json()).toMatchObject({ result: ['crm', 'user_brief', 'placement'] });
  });

  it('pages crm.lead.list with total and next', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);

    // Act
    const first = await restRequest(emulator, portal.domain, 'crm.lead.list', { auth: tokens.accessToken });
    const second = await restRequest(emulator, portal.domain, 'crm.lead.list', {
      auth: tokens.accessToken,
      start: '50',
    });

    // Assess
    expect(Array.isArray(first.body.result) && first.body.result.length).toBe(50);
    expect(first.body).toMatchObject({ total: 60, next: 50 });
    expect(Array.isArray(second.body.result) && second.body.result.length).toBe(10);
    expect(second.body.next).toBeUndefined();
    expect(at(second.body, 'result', '0', 'ID')).toBe('51');
  });

  it('runs batch commands with results, errors, totals and halt', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    const cmd = {
      'cmd[me]': 'profile',
      'cmd[leads]': 'crm.lead.list?start=50',
      'cmd[bad]': 'no.such.method',
      'cmd[after]': 'scope',
    };

    // Act
    const all = await restRequest(
      emulator,
      portal.domain,
      'batch',
      { auth: tokens.accessToken, halt: '0', ...cmd },
      { post: true },
    );
    const halted = await restRequest(
      emulator,
      portal.domain,
      'batch',
      { auth: tokens.accessToken, halt: '1', ...cmd },
      { post: true },
    );

    // Assess
    expect(all.status).toBe(200);
    expect(at(all.body, 'result', 'result', 'me', 'ID')).toBe('1');
    expect(at(all.body, 'result', 'result_total', 'leads')).toBe(60);
    expect(at(all.body, 'result', 'result_error', 'bad', 'error')).toBe('ERROR_METHOD_NOT_FOUND');
    expect(at(all.body, 'result', 'result', 'after')).toEqual(['crm', 'user_brief', 'placement']);
    expect(at(halted.body, 'result', 'result', 'after')).toBeUndefined();
    expect(at(all.body, 'time', 'start')).toEqual(expect.any(Number));
  });

  it('refuses a method outside the granted scope with 403 insufficient_scope', async () => {
    // Prepare
    const portal = newPortal({ installed: [NARROW_APP.clientId] });
    const tokens = emulator.issueTokens(portal, 1, { clientId: NARROW_APP.clientId });

    // Act
    const answer = await restRequest(emulator, portal.domain, 'crm.lead.list', { auth: tokens.accessToken });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('insufficient_scope');
  });

  it('answers 404 ERROR_METHOD_NOT_FOUND for an unknown method and 404 for an unknown virtual host', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);

    // Act
    const method = await restRequest(emulator, portal.domain, 'no.such.method', { auth: tokens.accessToken });
    const host = await fetch(emulator.urlFor('https://nowhere.bitrix24.com/rest/profile'));

    // Assess
    expect(method.status).toBe(404);
    expect(method.body.error).toBe('ERROR_METHOD_NOT_FOUND');
    expect(host.status).toBe(404);
    expect(await host.text()).toContain('Unknown virtual host');
  });
});

describe('portal REST authentication errors', () => {
  it('answers 401 NO_AUTH_FOUND without auth and 401 invalid_token for an unknown token', async () => {
    // Prepare
    const portal = newPortal();

    // Act
    const missing = await restRequest(emulator, portal.domain, 'profile', {});
    const unknown = await restRequest(emulator, portal.domain, 'profile', { auth: 'f'.repeat(70) });

    // Assess
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_token');
  });

  it('answers 401 expired_token once the access token is an hour old on the emulator clock', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    emulator.clock.advance(3_600_000);

    // Act
    const answer = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'expired_token', error_description: 'The access token provided has expired' });
  });

  it("refuses another portal's token with invalid_token", async () => {
    // Prepare
    const mine = newPortal();
    const theirs = newPortal();
    const tokens = emulator.issueTokens(theirs);

    // Act
    const answer = await restRequest(emulator, mine.domain, 'profile', { auth: tokens.accessToken });

    // Assess
    expect(answer.body.error).toBe('invalid_token');
  });

  it('answers 403 ACCESS_DENIED on the free plan', async () => {
    // Prepare
    const portal = newPortal({ plan: 'free' });
    const tokens = emulator.issueTokens(portal);

    // Act
    const answer = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('ACCESS_DENIED');
  });
});

describe('portal REST limits', () => {
  it('answers 503 QUERY_LIMIT_EXCEEDED after a burst of 50 and drains 2 requests per second of emulator time', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      statuses.push((await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken })).status);
    }

    // Act
    const over = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    emulator.clock.advance(1_000);
    const drained = [
      await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken }),
      await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken }),
      await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken }),
    ];

    // Assess
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(over.status).toBe(503);
    expect(over.body).toEqual({ error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    expect(drained.map((answer) => answer.status)).toEqual([200, 200, 503]);
  });

  it('does not limit a portal whose bucket is disabled', async () => {
    // Prepare
    const portal = newPortal({ rateLimit: false });
    const tokens = emulator.issueTokens(portal);

    // Act
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        restRequest(emulator, portal.domain, 'server.time', { auth: tokens.accessToken }),
      ),
    );

    // Assess
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
  });

  it('answers 429 OPERATION_TIME_LIMIT for a blocked method until the block ends', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    emulator.blockMethod(portal, 'crm.lead.list', 60_000);

    // Act
    const blocked = await restRequest(emulator, portal.domain, 'crm.lead.list', { auth: tokens.accessToken });
    const other = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    emulator.clock.advance(60_000);
    const later = await restRequest(emulator, portal.domain, 'crm.lead.list', {
      auth: emulator.issueTokens(portal).accessToken,
    });

    // Assess
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe('OPERATION_TIME_LIMIT');
    expect(other.status).toBe(200);
    expect(later.status).toBe(200);
  });
});

describe('portal rename', () => {
  it('redirects the old host with 302 to the same path on the new https host, and tokens name the new endpoint', async () => {
    // Prepare
    const portal = newPortal();
    const oldDomain = portal.domain;
    const tokens = emulator.issueTokens(portal);
    emulator.rename(portal, 'renamed-rest.bitrix24.com');

    // Act
    const moved = await fetch(emulator.urlFor(`https://${oldDomain}/rest/profile.json?auth=${tokens.accessToken}`), {
      redirect: 'manual',
    });
    const location = moved.headers.get('location') ?? '';
    const followed = await fetch(emulator.urlFor(location));
    const refreshed = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      refresh_token: tokens.refreshToken,
    });

    // Assess
    expect(moved.status).toBe(302);
    expect(location).toBe(`https://renamed-rest.bitrix24.com/rest/profile.json?auth=${tokens.accessToken}`);
    expect(followed.status).toBe(200);
    expect(refreshed.body.client_endpoint).toBe('https://renamed-rest.bitrix24.com/rest/');
    expect(refreshed.body.member_id).toBe(portal.memberId);
    expect(emulator.portal(oldDomain).domain).toBe('renamed-rest.bitrix24.com');
  });
});
