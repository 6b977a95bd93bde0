import type { ConsumerRefreshInput, TokenRefresher } from '#shared/consumer/token-client.js';
import { PortalNotFoundError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import type { TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import { token } from '#test/helpers/builders/fixtures.js';
import type { MemoryConsumerStore } from './memory-consumer-store.js';

/**
 * Stands in for the one refresh path: refreshes only while `seenVersion` is current, otherwise
 * returns the stored set. Each real refresh is counted; `gate` lets a test hold refreshes open.
 */
export class MemoryRefresher implements TokenRefresher {
  refreshes = 0;
  calls = 0;
  gate: Promise<void> = Promise.resolve();
  failWith: Error | undefined;

  constructor(
    private readonly store: MemoryConsumerStore,
    private readonly now: () => number,
  ) {}

  readonly requests: ConsumerRefreshInput[] = [];

  async refresh(key: TokenKey, options: ConsumerRefreshInput): Promise<TokenSet> {
    this.requests.push(options);
    this.calls += 1;
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    const current = this.store.sets.get(`${key.memberId}#${key.userId}`);
    if (current === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
    if (current.version !== options.seenVersion) return current;
    this.refreshes += 1;
    const next: TokenSet = {
      ...current,
      accessToken: token(),
      refreshToken: token(),
      accessExpiresAt: this.now() + HOUR,
      version: current.version + 1,
    };
    this.store.put(next);
    return next;
  }
}
