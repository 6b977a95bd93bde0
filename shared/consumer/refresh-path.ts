import type { TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import { type RefreshDeps, refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import type { ConsumerRefreshInput, TokenRefresher } from './token-client.js';

/**
 * The consumer library's `TokenRefresher` on the service's one refresh path (`refreshTokenSet`: lease,
 * authorization server, write fenced on the spent refresh token, release; the winner's tokens on a
 * race). The consumer library never refreshes any other way.
 *
 * @example
 * const tokens = new TokenClient({ store, refresher: refreshPathRefresher(refreshDependencies(config)) });
 */
export function refreshPathRefresher(deps: RefreshDeps): TokenRefresher {
  return {
    async refresh(key: TokenKey, request: ConsumerRefreshInput): Promise<TokenSet> {
      const { tokenSet } = await refreshTokenSet(key, request, deps);
      return tokenSet;
    },
  };
}
