import type { B24OAuth } from '@bitrix24/b24jssdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createB24OAuth, SDK_REFRESH_TOKEN_PLACEHOLDER } from '#shared/consumer/b24jssdk-adapter.js';
import { HOUR } from '#shared/core/domain/time.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { type ConsumerHarness, startConsumerHarness, VENDOR_FUNCTION } from '#test/helpers/harnesses/consumer.js';

let h: ConsumerHarness;
let seq = 0;
const domain = (): string => `sdk${++seq}-${Date.now().toString(36)}.bitrix24.com`;

beforeAll(async () => {
  h = await startConsumerHarness();
});
afterAll(async () => {
  await h.stop();
});

async function profileId(b24: B24OAuth): Promise<string | undefined> {
  const response = await b24.actions.v2.call.make<{ ID: string }>({ method: 'profile', params: {} });
  if (!response.isSuccess) throw new Error(response.getErrorMessages().join('; '));
  return response.getData()?.result.ID;
}

describe('createB24OAuth: the official SDK on the token service (emulator + DynamoDB Local + the token vendor)', () => {
  it('makes SDK calls with the service token and never holds the refresh token', async () => {
    // Prepare
    const { portal, stored } = await h.seedPortal(domain());

    // Act
    const b24 = await createB24OAuth({
      memberId: portal.memberId,
      tokens: h.tokenClient(),
      urlRewrites: h.emulator.urlRewrites,
    });
    const id = await profileId(b24);

    // Assess
    expect(id).toBe('1');
    const authData = b24.auth.getAuthData();
    expect(authData === false ? undefined : authData.refresh_token).toBe(SDK_REFRESH_TOKEN_PLACEHOLDER);
    expect(JSON.stringify(authData)).not.toContain(stored.refreshToken);
  });

  it('refreshes the chain exactly once when SDK calls meet expired_token, through the token vendor', async () => {
    // Prepare
    const { portal, stored } = await h.seedPortal(domain());
    const b24 = await createB24OAuth({
      memberId: portal.memberId,
      tokens: h.tokenClient(),
      urlRewrites: h.emulator.urlRewrites,
    });
    // The portal's clock passes the token's hour; the SDK's own (real) clock still thinks it valid.
    h.emulator.clock.advance(HOUR + 1);
    h.emulator.resetCounters();
    h.resetCounts();

    // Act
    const ids = await Promise.all(Array.from({ length: 5 }, () => profileId(b24)));

    // Assess
    expect(ids).toEqual(['1', '1', '1', '1', '1']);
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(h.lambda.counts[`${VENDOR_FUNCTION}:RequestResponse`]).toBe(1);
    expect(h.emulator.counters.rest.profile?.expired_token).toBeGreaterThanOrEqual(1);
    const after = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(after?.version).toBe(stored.version + 1);
    const authData = b24.auth.getAuthData();
    expect(authData === false ? undefined : authData.access_token).toBe(after?.accessToken);
  });

  it('takes the token a sweep refreshed meanwhile without refreshing again', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain(), { nextRefreshAt: 0 });
    const b24 = await createB24OAuth({
      memberId: portal.memberId,
      tokens: h.tokenClient(),
      urlRewrites: h.emulator.urlRewrites,
    });
    await refreshTokenSet({ memberId: portal.memberId, userId: 1 }, { reason: 'sweep' }, h.refresh);
    h.emulator.resetCounters();

    // Act
    const id = await profileId(b24);

    // Assess
    expect(id).toBe('1');
    expect(h.emulator.refreshCount(portal)).toBe(0);
    expect(h.emulator.counters.rest.profile).toEqual({ expired_token: 1, ok: 1 });
  });
});
