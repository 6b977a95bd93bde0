import type { TokenVendor } from '#shared/consumer/token-vendor-client.js';
import {
  type AccessToken,
  assertUsable,
  chooseDefaultTokenSet,
  toAccessToken,
} from '#shared/core/domain/access-token.js';
import { PortalNotFoundError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import { accessTokenValid, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import type { GetTokenRequest } from '#shared/core/domain/vendor-contract.js';
import { token } from '#test/helpers/builders/fixtures.js';
import type { MemoryTokenReader } from './memory-token-reader.js';

/**
 * Stands in for the service's token vendor on the data of a `MemoryTokenReader`, as the contract says:
 * the stored token while it stays valid for `minValidityMs` (and is not the reported stale version),
 * else a refreshed one. Counts calls and real refreshes; `gate` holds calls open; `failWith` makes
 * them fail (a `TokenUnavailableError('refresh_failed')` is what an unreachable vendor looks like).
 */
export class MemoryVendor implements TokenVendor {
  calls = 0;
  refreshes = 0;
  gate: Promise<void> = Promise.resolve();
  failWith: Error | undefined;
  readonly requests: Omit<GetTokenRequest, 'action'>[] = [];
  readonly uses: TokenKey[] = [];
  readonly moves: { memberId: string; from: string; to: string }[] = [];

  constructor(
    private readonly table: MemoryTokenReader,
    private readonly now: () => number,
  ) {}

  async getAccessToken(request: Omit<GetTokenRequest, 'action'>): Promise<AccessToken> {
    this.requests.push(request);
    this.calls += 1;
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    const { memberId } = request;
    const userId =
      request.userId ??
      chooseDefaultTokenSet(
        memberId,
        this.table.installations.get(memberId),
        [...this.table.sets.values()].filter((s) => s.memberId === memberId),
      );
    const current = this.table.sets.get(`${memberId}#${userId}`);
    if (current === undefined) {
      if (this.table.installations.get(memberId)?.status === 'uninstalled') {
        throw new TokenUnavailableError('uninstalled', memberId, userId);
      }
      throw new PortalNotFoundError(memberId, userId);
    }
    assertUsable(current);
    const refused = request.staleVersion !== undefined && current.version <= request.staleVersion;
    if (!refused && accessTokenValid(current, this.now(), request.minValidityMs ?? 0)) return toAccessToken(current);
    this.refreshes += 1;
    const next: TokenSet = {
      ...current,
      accessToken: token(),
      refreshToken: token(),
      accessExpiresAt: this.now() + HOUR,
      version: current.version + 1,
    };
    this.table.put(next);
    return toAccessToken(next);
  }

  async recordUse(key: TokenKey): Promise<void> {
    this.uses.push(key);
  }

  async portalMoved(memberId: string, from: string, to: string): Promise<void> {
    this.moves.push({ memberId, from, to });
  }
}
