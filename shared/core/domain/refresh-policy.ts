/**
 * When to refresh a token set, and what a failed refresh does to it. Pure functions of their inputs
 * (`now` and `random` are arguments), so every rule is testable without clocks or servers.
 *
 * Two limits matter (docs/PROTOCOL.md §2.7): the access token dies 1 hour after issue, the refresh token's
 * window closes 30 days (configurable) after issue. Bitrix24 warns that renewing every portal hourly
 * may get an app blocked (§2.8), so keeping access tokens warm is a per-deployment choice.
 */
import { type Backoff, backoffDelayMs } from './backoff.js';
import type { OAuthFailureCategory } from './errors.js';
import type { TokenSet, TokenStatus } from './token-set.js';

/**
 * What the sweep keeps alive:
 * - `always_warm`: every access token is renewed before its hour ends (consumers never wait; ~32
 *   OAuth calls per portal user a day with the default lead and jitter).
 * - `warm_while_used`: like `always_warm`, but only while a consumer used the token set within the
 *   warm window (`lastUsedAt`); idle ones fall back to `keep_alive`.
 * - `keep_alive`: only the refresh-token window is kept open (~1 call every 3 weeks); access tokens
 *   are renewed on demand by the first consumer that needs one.
 */
export const REFRESH_POLICY_MODES = ['always_warm', 'warm_while_used', 'keep_alive'] as const;

export type RefreshPolicyMode = (typeof REFRESH_POLICY_MODES)[number];

export interface RefreshPolicy {
  readonly mode: RefreshPolicyMode;
  /** Access tokens are renewed at least this long before they expire; must exceed the sweep interval. */
  readonly accessLeadMs: number;
  /** Up to this much earlier again, at random, so portals installed together spread out. */
  readonly accessJitterMs: number;
  /** Every chain is renewed at least this long before its refresh token's window closes. */
  readonly refreshLeadMs: number;
  /** Up to this much earlier again, at random. */
  readonly refreshJitterMs: number;
  /** `warm_while_used`: a token set counts as used for this long after `lastUsedAt`. */
  readonly warmWindowMs: number;
}

/** The fields of a token set the policy reads. */
export type RefreshTiming = Pick<TokenSet, 'accessExpiresAt' | 'refreshExpiresAt'> & {
  readonly lastUsedAt?: number | undefined;
};

/**
 * When the sweep should next refresh this token set (epoch ms, never before `now`).
 *
 * The refresh-token deadline always applies. The access-token deadline applies under `always_warm`,
 * and under `warm_while_used` when the token set will still count as used at that moment: judging at
 * the refresh instant (not now) means a portal stops being kept warm exactly when its window ends.
 *
 * @example
 * const dueAt = nextRefreshAt(tokenSet, now, policy); // store as the due-index time
 */
export function nextRefreshAt(
  tokens: RefreshTiming,
  now: number,
  policy: RefreshPolicy,
  random: () => number = Math.random,
): number {
  const keepAliveAt = tokens.refreshExpiresAt - policy.refreshLeadMs - random() * policy.refreshJitterMs;
  const warmAt = tokens.accessExpiresAt - policy.accessLeadMs - random() * policy.accessJitterMs;
  let due = keepAliveAt;
  if (policy.mode === 'always_warm') due = Math.min(due, warmAt);
  if (policy.mode === 'warm_while_used') {
    const usedUntil =
      tokens.lastUsedAt === undefined ? Number.NEGATIVE_INFINITY : tokens.lastUsedAt + policy.warmWindowMs;
    if (usedUntil >= warmAt) due = Math.min(due, warmAt);
  }
  return Math.round(Math.max(now, due));
}

/**
 * What went wrong with one refresh attempt. The OAuth categories come from the authorization server;
 * `member_mismatch` is an answer for another portal (never stored); `write_failed` means the new pair
 * was received but could not be stored.
 */
export type RefreshFailureCategory = OAuthFailureCategory | 'member_mismatch' | 'write_failed';

export interface FailureSettings {
  /** Consecutive transient failures after which the token set is marked `degraded`. */
  readonly degradedAfter: number;
  /** Back-off after transient failures (equal jitter: never sooner than half the step). */
  readonly retry: Backoff;
  /** `payment_required` is retried this rarely (it stays in the due index). */
  readonly paymentRetryMs: number;
  /**
   * `invalid_client` is retried this often (it stays in the due index: the refresh token was not spent,
   * so fixed credentials bring the chain back).
   */
  readonly credentialsRetryMs: number;
  /**
   * After an `invalid_grant` on a taken-over lease, wait this long before concluding: the interrupted
   * worker may still write the pair it received. Longer than a lease plus the write-retry budget.
   */
  readonly takeoverGraceMs: number;
}

export interface DecideFailureInput {
  readonly category: RefreshFailureCategory;
  /** Status before this attempt. */
  readonly status: TokenStatus;
  /** Failures in a row before this one. */
  readonly consecutiveFailures: number;
  /**
   * This attempt took over an expired lease (an interrupted refresh may have spent the token and may
   * still write). Only meaningful for `invalid_grant`, after the re-read showed the same token.
   */
  readonly tookOver: boolean;
  /**
   * `invalid_client` again, though our credentials were accepted since the previous one: the server
   * refuses the app on this portal, it is not installed there any more.
   */
  readonly appNotInstalled?: boolean | undefined;
  readonly now: number;
}

/** What to record for a failed attempt. */
export interface FailureDecision {
  readonly status: TokenStatus;
  readonly consecutiveFailures: number;
  /** Next sweep time; undefined takes the token set out of the due index. */
  readonly nextRefreshAt: number | undefined;
  /** `dead`: a person must act. `retry`: tokens kept, tried again later. `grace`: undecided, asked again after the grace period. */
  readonly verdict: 'dead' | 'retry' | 'grace';
}

/**
 * The failure taxonomy. Only an `invalid_grant` without a takeover (the stored refresh token is
 * provably the one the server refused, and nobody else can still be writing) ends a chain as
 * `reauth_required`. `invalid_client` and `payment_required` get their own statuses and stay due (the
 * token was not spent); `invalid_client` after our credentials were accepted elsewhere since the
 * previous one is the app gone from the portal (`uninstalled`). Everything else
 * keeps the tokens, backs off, and turns `degraded` after `degradedAfter` failures in a row — never
 * `reauth_required`: a false "transient" costs a retry, a false "dead" costs a portal.
 *
 * The caller must already have re-read the token set (a changed refresh token means another worker
 * won, which is not a failure) and looked for a recovery pair.
 */
export function decideFailure(
  input: DecideFailureInput,
  settings: FailureSettings,
  random: () => number = Math.random,
): FailureDecision {
  const consecutiveFailures = input.consecutiveFailures + 1;
  switch (input.category) {
    case 'invalid_grant':
      if (input.tookOver) {
        return {
          status: input.status,
          consecutiveFailures,
          nextRefreshAt: input.now + settings.takeoverGraceMs,
          verdict: 'grace',
        };
      }
      return { status: 'reauth_required', consecutiveFailures, nextRefreshAt: undefined, verdict: 'dead' };
    case 'invalid_client':
      if (input.appNotInstalled === true) {
        return { status: 'uninstalled', consecutiveFailures, nextRefreshAt: undefined, verdict: 'dead' };
      }
      return {
        status: 'invalid_client',
        consecutiveFailures,
        nextRefreshAt: input.now + settings.credentialsRetryMs,
        verdict: 'retry',
      };
    case 'portal_deleted':
      return { status: 'portal_deleted', consecutiveFailures, nextRefreshAt: undefined, verdict: 'dead' };
    case 'payment_required':
      return {
        status: 'payment_required',
        consecutiveFailures,
        nextRefreshAt: input.now + settings.paymentRetryMs,
        verdict: 'retry',
      };
    default: {
      let status: TokenStatus = input.status;
      if (status === 'active' && consecutiveFailures >= settings.degradedAfter) status = 'degraded';
      return {
        status,
        consecutiveFailures,
        nextRefreshAt: input.now + backoffDelayMs(consecutiveFailures, settings.retry, random),
        verdict: 'retry',
      };
    }
  }
}

/**
 * How long an uninstall proof waits for a refresh already running on the same token set: short, because
 * Bitrix24 waits for the event's answer (API Gateway gives up at 30 s) and the proof's own
 * authorization-server call comes after it.
 */
export const UNINSTALL_PROOF_LEASE_WAIT_MS = 3000;
