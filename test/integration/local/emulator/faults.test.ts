import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BitrixEmulator, type EmulatorPortal, startBitrixEmulator } from '#local/emulator/index.js';
import { restRequest, tokenRequest } from './helpers.js';

const APP = {
  clientId: 'local.9a1b2c3d4e5f60.66666666',
  clientSecret: 'FaultSecretFaultSecretFaultSecretFaultSecret06',
};

let emulator: BitrixEmulator;
let portalCounter = 0;

function newPortal(): EmulatorPortal {
  portalCounter += 1;
  return emulator.addPortal({
    domain: `f${portalCounter}.bitrix24.com`,
    region: 'west',
    installed: true,
    rateLimit: false,
  });
}

function refreshParams(refreshToken: string): Record<string, string> {
  return {
    grant_type: 'refresh_token',
    client_id: APP.clientId,
    client_secret: APP.clientSecret,
    refresh_token: refreshToken,
  };
}

/** Polls (no time limit of its own: the test timeout bounds it) until the condition holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

beforeAll(async () => {
  emulator = await startBitrixEmulator({ app: APP, clock: { frozen: true } });
});

beforeEach(() => {
  emulator.faults.clear();
  emulator.resetCounters();
});

afterAll(async () => {
  await emulator.stop();
});

describe('faults.set latencyMs', () => {
  it('still answers the request correctly', async () => {
    // Prepare
    const tokens = emulator.issueTokens(newPortal());
    emulator.faults.set('token', { latencyMs: 50 });

    // Act
    const answer = await tokenRequest(emulator, refreshParams(tokens.refreshToken));

    // Assess
    expect(answer.status).toBe(200);
    expect(emulator.counters.token.byGrant.refresh_token).toEqual({ ok: 1 });
  });
});

describe('faults.failNext', () => {
  it('fails the next n requests before processing, leaving the refresh token usable', async () => {
    // Prepare
    const tokens = emulator.issueTokens(newPortal());
    emulator.faults.failNext('token', 2, { status: 503 });

    // Act
    const first = await fetch(emulator.urlFor('https://oauth.bitrix.info/oauth/token/'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(refreshParams(tokens.refreshToken)).toString(),
    });
    const firstBody = await first.text();
    const second = await tokenRequest(emulator, refreshParams(tokens.refreshToken)).catch(() => undefined);
    const third = await tokenRequest(emulator, refreshParams(tokens.refreshToken));

    // Assess
    expect(first.status).toBe(503);
    expect(firstBody).toContain('nginx');
    expect(second).toBeUndefined();
    expect(third.status).toBe(200);
    expect(emulator.counters.faults.token).toEqual({ status_503: 2 });
    expect(emulator.counters.token.byGrant.refresh_token).toEqual({ ok: 1 });
  });

  it("applies '*' to every target with a custom JSON body", async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    emulator.faults.failNext('*', 1, {
      status: 500,
      body: { error: 'ERROR_UNEXPECTED_ANSWER', error_description: 'x' },
    });

    // Act
    const failed = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    const next = await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });

    // Assess
    expect(failed).toEqual({ status: 500, body: { error: 'ERROR_UNEXPECTED_ANSWER', error_description: 'x' } });
    expect(next.status).toBe(200);
  });
});

describe('faults.set malformed200', () => {
  it('answers 200 with a body that is not JSON, or JSON without tokens', async () => {
    // Prepare
    const tokens = emulator.issueTokens(newPortal());
    emulator.faults.set('token', { malformed200: 'not-json' });

    // Act
    const notJson = await fetch(
      emulator.urlFor(
        `https://oauth.bitrix.info/oauth/token/?${new URLSearchParams(refreshParams(tokens.refreshToken))}`,
      ),
    );
    const notJsonText = await notJson.text();
    emulator.faults.set('token', { malformed200: 'no-tokens' });
    const noTokens = await tokenRequest(emulator, refreshParams(tokens.refreshToken));

    // Assess
    expect(notJson.status).toBe(200);
    expect(() => JSON.parse(notJsonText)).toThrow();
    expect(noTokens.status).toBe(200);
    expect(noTokens.body.access_token).toBeUndefined();
    expect(noTokens.body.error).toBeUndefined();
  });
});

describe('faults applyAfter', () => {
  it('rotates the refresh token and then loses the answer', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    emulator.faults.failNext('token', 1, { status: 502, applyAfter: true });

    // Act
    const lost = await fetch(emulator.urlFor('https://oauth.bitrix.info/oauth/token/'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(refreshParams(tokens.refreshToken)).toString(),
    });
    await lost.text();
    const retry = await tokenRequest(emulator, refreshParams(tokens.refreshToken));

    // Assess
    expect(lost.status).toBe(502);
    expect(retry.body.error).toBe('invalid_grant');
    expect(emulator.chainState(portal)[0]?.generation).toBe(1);
    expect(emulator.tokenState(tokens.refreshToken)).toMatchObject({ kind: 'refresh', state: 'used' });
    expect(emulator.counters.token.byGrant.refresh_token).toEqual({ ok: 1, invalid_grant: 1 });
  });
});

describe('faults.hang', () => {
  it('holds the request until the fault is cleared, then answers it', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    emulator.faults.hang('rest');
    const pending = restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    await until(() => emulator.counters.faults.rest?.hang === 1);

    // Act
    emulator.faults.clear('rest');
    const answer = await pending;

    // Assess
    expect(answer.status).toBe(200);
  });

  it('drops hung requests when the emulator stops', async () => {
    // Prepare
    const other = await startBitrixEmulator({ app: APP });
    other.faults.hang('token');
    const pending = fetch(other.urlFor('https://oauth.bitrix.info/oauth/token/?grant_type=refresh_token'));
    await until(() => other.counters.faults.token?.hang === 1);

    // Act
    await other.stop();

    // Assess
    await expect(pending).rejects.toThrow();
  });
});

describe('faults.failRate', () => {
  it('fails a seeded, repeatable share of requests', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);
    const run = async (): Promise<number[]> => {
      emulator.faults.seed(42).failRate('rest', 0.5, { status: 503 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        const response = await fetch(
          emulator.urlFor(`https://${portal.domain}/rest/server.time?auth=${tokens.accessToken}`),
        );
        await response.text();
        statuses.push(response.status);
      }
      return statuses;
    };

    // Act
    const first = await run();
    const second = await run();

    // Assess
    expect(first).toEqual(second);
    expect(first).toContain(200);
    expect(first).toContain(503);
  });
});

describe('faults errorsAsHttp200 and clear', () => {
  it('sends REST errors with 200 and stops after clearing only that target', async () => {
    // Prepare
    const portal = newPortal();
    emulator.faults.set('rest', { errorsAsHttp200: true }).set('token', { errorsAsHttp200: true });

    // Act
    const restError = await restRequest(emulator, portal.domain, 'profile', { auth: 'nope' });
    emulator.faults.clear('rest');
    const restAfter = await restRequest(emulator, portal.domain, 'profile', { auth: 'nope' });
    const tokenStill = await tokenRequest(emulator, refreshParams('nope'));

    // Assess
    expect(restError).toEqual({ status: 200, body: { error: 'invalid_token', error_description: expect.any(String) } });
    expect(restAfter.status).toBe(401);
    expect(tokenStill.status).toBe(200);
    expect(emulator.faults.get('rest')).toEqual({});
  });
});

describe('counters', () => {
  it('count token requests by grant, outcome and host, REST calls by method and outcome, and reset', async () => {
    // Prepare
    const portal = newPortal();
    const tokens = emulator.issueTokens(portal);

    // Act
    await tokenRequest(emulator, refreshParams(tokens.refreshToken), { host: 'oauth.bitrix24.tech' });
    await tokenRequest(emulator, refreshParams(tokens.refreshToken));
    await tokenRequest(emulator, {
      grant_type: 'authorization_code',
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
      code: 'x',
    });
    await restRequest(emulator, portal.domain, 'profile', { auth: tokens.accessToken });
    const snapshot = emulator.counters;
    emulator.resetCounters();

    // Assess
    expect(snapshot.token.total).toBe(3);
    expect(snapshot.token.byGrant).toEqual({
      refresh_token: { ok: 1, invalid_grant: 1 },
      authorization_code: { invalid_grant: 1 },
    });
    expect(snapshot.token.byHost['oauth.bitrix24.tech']).toEqual({ refresh_token: { ok: 1 } });
    expect(snapshot.refreshes[portal.memberId]).toEqual({ ok: 1, byHost: { 'oauth.bitrix24.tech': 1 } });
    expect(snapshot.rest.profile).toEqual({ expired_token: 1 });
    expect(emulator.counters.token.total).toBe(0);
  });
});
