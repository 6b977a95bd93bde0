import type { BitrixEmulator, EmulatorPortal } from '#local/emulator/index.js';
import type { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { DAY } from '#shared/core/domain/time.js';
import type { TokenSet } from '#shared/core/domain/token-set.js';

export interface SeedOptions {
  /** The installing user, whose chain is stored. @default 1 */
  readonly userId?: number;
  readonly nextRefreshAt?: number;
  readonly accessExpiresAt?: number;
}

/**
 * A portal with the app installed in the emulator, and its installation and a chain for `userId` (the
 * installing user) stored in the table, with tokens the emulator issued; time is the emulator's.
 */
export async function seedPortal(
  emulator: BitrixEmulator,
  repository: DynamoDbTokenRepository,
  domain: string,
  options: SeedOptions = {},
): Promise<{ portal: EmulatorPortal; stored: TokenSet }> {
  const userId = options.userId ?? 1;
  const portal = emulator.addPortal({
    domain,
    region: 'west',
    installed: true,
    rateLimit: false,
    users: [{ id: 1, admin: true }, { id: 2 }, ...(userId > 2 ? [{ id: userId, admin: true }] : [])],
  });
  const issued = emulator.issueTokens(portal, userId);
  const now = emulator.clock.now();
  await repository.saveInstallation(
    {
      memberId: portal.memberId,
      domain: portal.domain,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: portal.serverEndpoint,
      status: 'active',
      installedBy: userId,
      installedAt: now,
      now,
    },
    null,
  );
  const stored = await repository.storeNewChain(
    {
      accessToken: issued.accessToken,
      refreshToken: issued.refreshToken,
      accessExpiresAt: options.accessExpiresAt ?? issued.expires * 1000,
      refreshIssuedAt: now,
      refreshExpiresAt: now + 30 * DAY,
      memberId: portal.memberId,
      userId,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: portal.serverEndpoint,
      scope: issued.scope,
      source: 'import',
      nextRefreshAt: options.nextRefreshAt,
      now,
    },
    null,
  );
  return { portal, stored };
}
