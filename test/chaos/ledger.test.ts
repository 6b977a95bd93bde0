import { describe, expect, inject, it } from 'vitest';
import { recoveryItemsOf } from '#bench/chaos/ledger.js';
import { World } from '#bench/lib/world.js';

describe('chaos ledger: recovery items', () => {
  it('lists every recovery item of a token set, one per spent refresh token, and none of another user', async () => {
    // Prepare: a pair parked for the first token; a new chain; a pair parked for its token too
    const world = await World.start({ endpoint: inject('dynamoDbEndpoint'), name: 'chaos-ledger' });
    try {
      const [key] = await world.seedChains(world.addPortals(1), { due: false });
      if (key === undefined) throw new Error('no portal seeded');
      const park = async (label: string) => {
        const stored = await world.tokenSet(key);
        const outcome = await world.deps.recovery.save({
          ...key,
          usedRefreshToken: stored.refreshToken,
          issued: { ...stored, refreshToken: `${label}-pair-refresh` },
          refreshExpiresAt: stored.refreshExpiresAt,
          owner: 'test',
          savedAt: world.clock(),
        });
        return { outcome, used: stored.refreshToken };
      };
      const first = await park('first');
      const stored = await world.tokenSet(key);
      const tokens = world.emulator.issueTokens(key.memberId, key.userId);
      await world.repository.storeNewChain(
        {
          ...stored,
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          source: 'install_page',
          now: world.clock(),
        },
        stored.version,
      );
      const second = await park('second');

      // Act
      const items = await recoveryItemsOf(world.dynamodb.client, world.tableName, key);
      const otherUser = await recoveryItemsOf(world.dynamodb.client, world.tableName, {
        ...key,
        userId: key.userId + 1,
      });

      // Assess
      expect([first.outcome, second.outcome]).toEqual(['parked', 'parked']);
      expect(items.map((item) => item.usedRefreshToken).sort()).toEqual([first.used, second.used].sort());
      expect(items.map((item) => item.refreshToken).sort()).toEqual(['first-pair-refresh', 'second-pair-refresh']);
      expect(otherUser).toEqual([]);
    } finally {
      await world.stop();
    }
  });
});
