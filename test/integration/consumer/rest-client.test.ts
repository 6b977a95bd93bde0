import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BitrixRestError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import { type ConsumerHarness, startConsumerHarness } from '#test/helpers/harnesses/consumer.js';

let h: ConsumerHarness;
let seq = 0;
const domain = (): string => `rest${++seq}-${Date.now().toString(36)}.bitrix24.com`;

beforeAll(async () => {
  h = await startConsumerHarness();
});
afterEach(() => {
  h.emulator.faults.clear();
});
afterAll(async () => {
  await h.stop();
});

interface Lead {
  readonly ID: string;
  readonly TITLE: string;
}

describe('BitrixRestClient (emulator + DynamoDB Local)', () => {
  it('POSTs the method with nested parameters and auth in the form body, and returns result, total and next', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient());

    // Act
    const first = await rest.call<Lead[]>(portal.memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });
    const second = await rest.call<Lead[]>(portal.memberId, 'crm.lead.list', {
      select: ['ID', 'TITLE'],
      start: first.next,
    });

    // Assess
    expect(first.total).toBe(60);
    expect(first.next).toBe(50);
    expect(first.result).toHaveLength(50);
    expect(first.result[0]).toMatchObject({ ID: '1', TITLE: 'Lead #1' });
    expect(second.result.map((l) => l.ID)).toEqual(Array.from({ length: 10 }, (_, i) => String(51 + i)));
    expect(second.next).toBeUndefined();
    expect(first.time?.start).toEqual(expect.any(Number));
  });

  it('backs off with jitter on QUERY_LIMIT_EXCEEDED from the leaky bucket and succeeds once it drained', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    h.emulator.setRateLimit(portal, { burst: 3, drainPerSecond: 1 });
    h.emulator.resetCounters();
    const sleeps: number[] = [];
    const rest = h.restClient(h.tokenClient(), {
      backoffBaseMs: 1000,
      backoffMaxMs: 8000,
      maxAttempts: 4,
      random: () => 0.75,
      sleep: async (ms) => {
        sleeps.push(ms);
        h.emulator.clock.advance(ms);
      },
    });

    // Act
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push(await rest.call<{ ID: string }>(portal.memberId, 'profile'));

    // Assess
    expect(results.map((r) => r.result.ID)).toEqual(['1', '1', '1', '1', '1']);
    // Burst 3, 1 per second: the 4th call is refused, waits 0.75 · 1000 (still 0.25 short), is refused
    // again, waits 0.75 · 2000 and goes through; the 5th fits. Full jitter: random · min(max, base · 2ⁿ⁻¹).
    expect(h.emulator.counters.rest.profile).toEqual({ ok: 5, QUERY_LIMIT_EXCEEDED: 2 });
    expect(sleeps).toEqual([750, 1500]);
  });

  it('gives up on OPERATION_TIME_LIMIT after the bounded attempts with growing, capped delays', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    h.emulator.blockMethod(portal, 'crm.lead.list', HOUR);
    h.emulator.resetCounters();
    const sleeps: number[] = [];
    const rest = h.restClient(h.tokenClient(), {
      backoffBaseMs: 1000,
      backoffMaxMs: 3000,
      maxAttempts: 4,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // Act
    const error = await rest.call(portal.memberId, 'crm.lead.list').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BitrixRestError);
    expect((error as BitrixRestError).error).toBe('OPERATION_TIME_LIMIT');
    expect((error as BitrixRestError).status).toBe(429);
    expect(sleeps).toEqual([500, 1000, 1500]);
    expect(h.emulator.counters.rest['crm.lead.list']?.OPERATION_TIME_LIMIT).toBe(4);
  });

  it('retries a 503 QUERY_LIMIT_EXCEEDED sent as HTTP 200 (errors as 200) too', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    h.emulator.faults.set('rest', { errorsAsHttp200: true });
    h.emulator.faults.failNext('rest', 2, {
      status: 503,
      body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' },
    });
    const sleeps: number[] = [];
    const rest = h.restClient(h.tokenClient(), { sleep: async (ms) => void sleeps.push(ms), random: () => 0 });

    // Act
    const answer = await rest.call<{ ID: string }>(portal.memberId, 'profile');

    // Assess
    expect(answer.result.ID).toBe('1');
    expect(sleeps).toHaveLength(2);
  });

  it('follows a 302 after a portal rename by re-POSTing the same body, and the vendor stores the confirmed address', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const oldEndpoint = portal.clientEndpoint;
    const tokens = h.tokenClient();
    const rest = h.restClient(tokens);
    await tokens.getAccessToken({ memberId: portal.memberId });
    const newDomain = `renamed-${domain()}`;
    h.emulator.rename(portal, newDomain);
    h.emulator.resetCounters();

    // Act
    const page = await rest.call<Lead[]>(portal.memberId, 'crm.lead.list', { select: ['ID'], start: 50 });
    const next = await rest.call<{ ID: string }>(portal.memberId, 'profile');

    // Assess
    expect(page.result.map((l) => l.ID)[0]).toBe('51');
    expect(next.result.ID).toBe('1');
    expect(h.emulator.counters.rest['crm.lead.list']).toEqual({ redirect_renamed: 1, ok: 1 });
    // The vendor asked the old address itself (no token) before storing the new one.
    expect(h.emulator.counters.rest.profile).toEqual({ redirect_renamed: 1, ok: 1 });
    const stored = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    const installation = await h.repository.getInstallation(portal.memberId);
    expect(stored?.clientEndpoint).toBe(`https://${newDomain}/rest/`);
    expect(stored?.domain).toBe(newDomain);
    expect(installation?.clientEndpoint).toBe(`https://${newDomain}/rest/`);
    expect(installation?.domain).toBe(newDomain);
    expect((await tokens.getAccessToken({ memberId: portal.memberId })).domain).toBe(newDomain);
    expect((await h.tokenClient().getAccessToken({ memberId: portal.memberId })).clientEndpoint).not.toBe(oldEndpoint);
  });

  it.each([
    ['another cloud zone', (name: string) => name.replace(/\.com$/, '.de')],
    ['a host outside the Bitrix24 cloud', (name: string) => name.replace(/\.bitrix24\.com$/, '.example.org')],
  ])('does not follow a rename to %s: the token is not sent there and nothing is stored', async (_label, moved) => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const oldEndpoint = portal.clientEndpoint;
    const rest = h.restClient(h.tokenClient());
    const newDomain = moved(`renamed-${domain()}`);
    h.emulator.rename(portal, newDomain);
    h.emulator.resetCounters();

    // Act
    const failure = await rest.call(portal.memberId, 'profile').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(BitrixRestError);
    expect(failure).toMatchObject({ error: 'unexpected_redirect' });
    expect(h.emulator.counters.rest.profile).toEqual({ redirect_renamed: 1 });
    expect((await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 }))?.clientEndpoint).toBe(
      oldEndpoint,
    );
    expect((await h.repository.getInstallation(portal.memberId))?.clientEndpoint).toBe(oldEndpoint);
  });

  it('retries once with a fresh token on expired_token and surfaces the second refusal', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient());
    h.emulator.faults.failNext('rest', 2, {
      status: 401,
      body: { error: 'expired_token', error_description: 'The access token provided has expired' },
    });

    // Act
    const error = await rest.call(portal.memberId, 'profile').catch((e: unknown) => e);

    // Assess
    expect((error as BitrixRestError).error).toBe('expired_token');
    expect(h.emulator.refreshCount(portal)).toBe(1);
  });

  it('answers an uninstalled app (invalid_token, then invalid_client at the refresh) with TokenUnavailableError', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient());
    await h.emulator.uninstall(portal, { sendEvent: false });
    h.emulator.resetCounters();

    // Act
    const error = await rest.call(portal.memberId, 'profile').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenUnavailableError);
    // The first refusal cannot tell a removed app from wrong credentials; the sweep tells them apart
    // later (docs/REFRESH.md, "invalid_client").
    expect((error as TokenUnavailableError).reason).toBe('invalid_client');
    expect(h.emulator.counters.rest.profile).toEqual({ invalid_token: 1 });
    expect(h.emulator.counters.token.byGrant.refresh_token).toEqual({ invalid_client: 1 });
  });

  it('returns batch sub-errors per command next to the results', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient());

    // Act
    const results = await rest.batch(portal.memberId, {
      leads: { method: 'crm.lead.list', params: { select: ['ID'], start: 50 } },
      missing: { method: 'crm.lead.get', params: { id: 999 } },
      me: { method: 'profile' },
    });

    // Assess
    expect(results.leads).toMatchObject({ ok: true, total: 60 });
    expect(results.leads?.ok === true ? (results.leads.result as Lead[]).length : 0).toBe(10);
    expect(results.me).toMatchObject({ ok: true, result: { ID: '1' } });
    expect(results.missing?.ok).toBe(false);
    expect(results.missing?.ok === false ? results.missing.error.errorDescription : '').toBe('Not found');
  });

  it('marks the commands after a failing one as not executed when halt is set', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient());

    // Act
    const results = await rest.batch(
      portal.memberId,
      [{ method: 'profile' }, { method: 'no.such.method' }, { method: 'profile' }],
      { halt: true },
    );

    // Assess
    expect(results['0']?.ok).toBe(true);
    expect(results['1']?.ok === false ? results['1'].error.error : '').toBe('ERROR_METHOD_NOT_FOUND');
    expect(results['2']?.ok === false ? results['2'].error.error : '').toBe('not_executed');
  });

  it('answers a non-JSON 200 with malformed_response and a hung portal with timeout', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const rest = h.restClient(h.tokenClient(), { timeoutMs: 200 });
    h.emulator.faults.set('rest', { malformed200: 'not-json' });
    const malformed = await rest.call(portal.memberId, 'profile').catch((e: unknown) => e);
    h.emulator.faults.clear();
    h.emulator.faults.hang('rest');

    // Act
    const hung = await rest.call(portal.memberId, 'profile').catch((e: unknown) => e);

    // Assess
    expect((malformed as BitrixRestError).error).toBe('malformed_response');
    expect((hung as BitrixRestError).error).toBe('timeout');
    expect((hung as BitrixRestError).status).toBe(0);
  });

  it('keeps the access token out of errors and their JSON', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const tokens = h.tokenClient();
    const rest = h.restClient(tokens);
    const { accessToken } = await tokens.getAccessToken({ memberId: portal.memberId });

    // Act
    const error = await rest.call(portal.memberId, 'no.such.method', { secretish: 'x' }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BitrixRestError);
    expect(JSON.stringify(error)).not.toContain(accessToken);
    expect(String((error as Error).message)).not.toContain(accessToken);
    expect((error as BitrixRestError).toJSON()).toMatchObject({
      error: 'ERROR_METHOD_NOT_FOUND',
      status: 404,
      method: 'no.such.method',
    });
  });
});
