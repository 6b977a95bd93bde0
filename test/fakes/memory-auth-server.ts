import type { BitrixOAuthError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import type { IssuedTokens, TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import { oauthError, token } from '#test/helpers/builders/fixtures.js';

/**
 * A tiny authorization server behind the `BitrixOAuthClient` port: rotating single-use refresh tokens per chain. `failures` is a queue of
 * errors the next calls throw before looking at the token; `onCall` runs first (to interleave a race).
 */
export class MemoryAuthServer implements BitrixOAuthClient {
  /** live refresh token → chain's member/user */
  private readonly live = new Map<string, TokenKey>();
  readonly failures: BitrixOAuthError[] = [];
  calls = 0;
  successes = 0;
  answerMemberId: string | undefined;
  onCall: ((refreshToken: string) => Promise<void>) | undefined;
  /** While true, every call fails as a 503 (the server is down). */
  down = false;

  constructor(
    private readonly now: () => number,
    /** Portal REST base the answers name for a portal. @default one fixed portal address */
    private readonly clientEndpointOf: (memberId: string) => string = () => 'https://portal.bitrix24.com/rest/',
  ) {}

  /** Starts a new chain for a portal user (as an install would) and returns its refresh token. */
  issue(memberId: string, userId = 1): string {
    const refreshToken = token();
    this.live.set(refreshToken, { memberId, userId });
    return refreshToken;
  }

  /** Registers a token set's refresh token as live (as an install would). */
  register(set: Pick<TokenSet, 'refreshToken' | 'memberId' | 'userId'>): void {
    this.live.set(set.refreshToken, { memberId: set.memberId, userId: set.userId });
  }

  /** Rotates the chain of `refreshToken` as if somebody else had refreshed it. */
  rotate(refreshToken: string): IssuedTokens {
    const owner = this.live.get(refreshToken);
    if (owner === undefined) throw new Error('not live');
    this.live.delete(refreshToken);
    const now = this.now();
    const issued: IssuedTokens = {
      accessToken: token(),
      refreshToken: token(),
      accessExpiresAt: now + HOUR,
      refreshIssuedAt: now,
      memberId: this.answerMemberId ?? owner.memberId,
      userId: owner.userId,
      clientEndpoint: this.clientEndpointOf(owner.memberId),
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      scope: 'app',
      appStatus: 'L',
    };
    this.live.set(issued.refreshToken, owner);
    return issued;
  }

  async refresh(input: { serverEndpoint: string; refreshToken: string }): Promise<IssuedTokens> {
    this.calls += 1;
    await this.onCall?.(input.refreshToken);
    if (this.down) throw oauthError('http_503', 503);
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    if (!this.live.has(input.refreshToken)) throw oauthError('invalid_grant', 400);
    this.successes += 1;
    return this.rotate(input.refreshToken);
  }

  async exchangeCode(): Promise<IssuedTokens> {
    throw new Error('the memory authorization server exchanges no codes');
  }
}
