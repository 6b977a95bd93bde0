import { browserBindingMatches, isOpaqueValue } from '#shared/core/domain/authorization-state.js';
import { BitrixOAuthError, TokenConflictError } from '#shared/core/domain/errors.js';
import { parsePortalAddress } from '#shared/core/domain/portal-address.js';
import { nextRefreshAt, type RefreshPolicy } from '#shared/core/domain/refresh-policy.js';
import { withChain } from '#shared/core/domain/token-history.js';
import { domainFromEndpoint, type IssuedTokens, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { recordHistory } from './record-history.js';

/** The callback's query (`/oauth/callback?code&state&domain&member_id&scope&server_domain`) plus the cookie. */
export interface CallbackInput {
  readonly code?: string | undefined;
  /**
   * An OAuth 2.0 error answer (`error=access_denied`, RFC 6749 §4.1.2.1) instead of a code. Bitrix24
   * documents none (its refusals stay on the portal's page, docs/PROTOCOL.md §2.3); a callback that
   * carries one is still a refusal, never a missing code.
   */
  readonly error?: string | undefined;
  readonly state?: string | undefined;
  /** Portal host as the portal reported it (attacker-controllable: only used for links). */
  readonly domain?: string | undefined;
  readonly memberId?: string | undefined;
  readonly scope?: string | undefined;
  /** Authorization server host to exchange the code on. */
  readonly serverDomain?: string | undefined;
  /** The browser-binding cookie's value. */
  readonly browserBinding?: string | undefined;
}

/**
 * How an authorization ended. Each refusal names the portal (when known) so the page can offer to
 * start again. Only `connected` wrote to the table.
 */
export type AuthorizationOutcome =
  | { readonly kind: 'connected'; readonly portal: string; readonly memberId: string; readonly userId: number }
  /** Opened without any parameter: somebody typed or bookmarked the address; it is no link from Bitrix24. */
  | { readonly kind: 'not_a_callback' }
  /** The portal answered with an OAuth error (`access_denied`, …) instead of a code. The state is spent. */
  | { readonly kind: 'refused_by_portal'; readonly portal?: string | undefined; readonly error: string }
  /** The query lacks or garbles a parameter the protocol always sends. */
  | { readonly kind: 'invalid_request'; readonly portal?: string | undefined; readonly problem: string }
  /**
   * No pending authorization has this `state`: it was used already (a reload), expired long ago, or
   * was never issued. Nothing is looked up, so the answer says nothing about any portal; `portal` is
   * the query's unverified `domain`, for the log only.
   */
  | { readonly kind: 'state_unknown'; readonly portal?: string | undefined }
  | { readonly kind: 'state_expired'; readonly portal: string }
  /** The `state` was issued to another browser (or the cookie is gone). */
  | { readonly kind: 'browser_mismatch'; readonly portal: string }
  | { readonly kind: 'server_not_allowed'; readonly portal: string; readonly serverDomain: string }
  /** The code is older than its 30 s or was spent already (`expired_token`, `invalid_grant`). */
  | { readonly kind: 'code_expired'; readonly portal: string }
  /** The authorization server refuses the app for this portal (`invalid_client`, `PAYMENT_REQUIRED`). */
  | { readonly kind: 'denied'; readonly portal: string; readonly reason: 'invalid_client' | 'payment_required' }
  /** The token answer is for another portal than the callback claims. */
  | { readonly kind: 'member_mismatch'; readonly portal: string }
  /** The authorization server failed, timed out or answered nonsense. */
  | { readonly kind: 'server_failed'; readonly portal: string; readonly error: string };

export type AuthorizationOutcomeKind = AuthorizationOutcome['kind'];

/** The part of the token store this use case needs. */
export type AuthorizationStore = Pick<
  TokenRepository,
  'getTokenSet' | 'storeNewChain' | 'getInstallation' | 'saveInstallation' | 'readHistory' | 'writeHistory'
>;

export interface CompleteAuthorizationDeps {
  readonly states: OAuthStateRepository;
  readonly tokens: AuthorizationStore;
  readonly oauth: BitrixOAuthClient;
  /** `BITRIX_AUTH_SERVERS`: hosts we send the client secret to. */
  readonly allowedAuthServers: readonly string[];
  /** Assumed refresh-token lifetime, from `REFRESH_TOKEN_LIFETIME_DAYS`. */
  readonly refreshTokenLifetimeMs: number;
  /** When the sweep should first refresh a new chain; undefined keeps it out of the due index. */
  readonly nextRefreshAt: (issued: IssuedTokens) => number | undefined;
  readonly now: () => number;
  /** Where a history that could not be recorded is reported. @default none */
  readonly logger?: Logger | undefined;
}

const MEMBER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const HOST = /^[a-z0-9.-]{1,253}$/;
/** RFC 6749 error codes are ASCII without quotes or backslashes; ours are shown, so only plain words pass. */
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Writes that lose a race re-read and try again this many times before giving up. */
const WRITE_ATTEMPTS = 5;

/**
 * Finishes the authorization-code flow: consumes the `state` once, checks the browser binding and the
 * authorization server, exchanges the code (one attempt, inside its 30 s life), checks that the tokens
 * are for the portal the callback names, and stores the new chain and the installation's endpoints.
 * Every refusal returns before the table is written (only the `state` is spent).
 *
 * @example
 * const outcome = await completeAuthorization({ code, state, memberId, serverDomain, browserBinding }, deps);
 * if (outcome.kind === 'connected') // show success
 */
export async function completeAuthorization(
  input: CallbackInput,
  deps: CompleteAuthorizationDeps,
): Promise<AuthorizationOutcome> {
  const queryPortal = portalOrUndefined(input.domain);
  const memberId = input.memberId !== undefined && MEMBER_ID.test(input.memberId) ? input.memberId : undefined;
  const { browserBinding: _cookie, ...query } = input;
  if (Object.values(query).every((value) => value === undefined || value === '')) return { kind: 'not_a_callback' };
  if (input.error !== undefined && input.error !== '') {
    const error = ERROR_CODE.test(input.error) ? input.error : 'unknown';
    if (!isOpaqueValue(input.state)) return { kind: 'refused_by_portal', portal: queryPortal, error };
    // The authorization it started is over: the state is spent, so a replay with a code cannot use it.
    const record = await deps.states.consume(input.state);
    return { kind: 'refused_by_portal', portal: record?.portal ?? queryPortal, error };
  }
  // Not a state we could have issued: one neutral answer, nothing looked up.
  if (!isOpaqueValue(input.state)) return { kind: 'state_unknown', portal: queryPortal };
  if (input.code === undefined || input.code.length === 0 || input.code.length > 512) {
    return { kind: 'invalid_request', portal: queryPortal, problem: 'the authorization code is missing' };
  }
  if (memberId === undefined) return { kind: 'invalid_request', portal: queryPortal, problem: 'member_id is missing' };
  const serverDomain = input.serverDomain?.trim().toLowerCase() ?? '';
  if (!HOST.test(serverDomain)) {
    return { kind: 'invalid_request', portal: queryPortal, problem: 'server_domain is missing' };
  }

  // Spent first, whatever follows: a state can never be tried twice.
  const record = await deps.states.consume(input.state);
  // Whoever holds an unknown state learns nothing: whether the query's member_id has tokens is not
  // looked up (that would tell anybody which portals are connected).
  if (record === undefined) return { kind: 'state_unknown', portal: queryPortal };
  const portal = record.portal;
  const now = deps.now();
  // DynamoDB's TTL deletes late (up to days), so the expiry is checked here.
  if (record.expiresAt <= now) return { kind: 'state_expired', portal };
  if (!browserBindingMatches(input.browserBinding, record.browserBindingHash))
    return { kind: 'browser_mismatch', portal };
  if (!deps.allowedAuthServers.includes(serverDomain)) return { kind: 'server_not_allowed', portal, serverDomain };

  let issued: IssuedTokens;
  try {
    issued = await deps.oauth.exchangeCode({ authServer: serverDomain, code: input.code });
  } catch (error) {
    if (error instanceof BitrixOAuthError) return exchangeFailure(error, portal);
    throw error;
  }
  // The query is the browser's word; the token answer is the authorization server's.
  if (issued.memberId !== memberId) return { kind: 'member_mismatch', portal };

  await storeChain(issued, input.scope, deps);
  await saveInstallation(issued, input.scope, deps);
  return { kind: 'connected', portal: domainFromEndpoint(issued.clientEndpoint), memberId, userId: issued.userId };
}

/** What a log line may say about an outcome: names and ids, never the code, state or tokens. */
export function outcomeLogKeys(outcome: AuthorizationOutcome): Record<string, string | number | boolean | undefined> {
  const { kind } = outcome;
  const portal = 'portal' in outcome ? outcome.portal : undefined;
  switch (kind) {
    case 'connected':
      return { outcome: kind, portal, memberId: outcome.memberId, userId: outcome.userId };
    case 'server_failed':
      return { outcome: kind, portal, error: outcome.error };
    case 'server_not_allowed':
      return { outcome: kind, portal, serverDomain: outcome.serverDomain };
    case 'denied':
      return { outcome: kind, portal, reason: outcome.reason };
    case 'refused_by_portal':
      return { outcome: kind, portal, error: outcome.error };
    case 'not_a_callback':
      return { outcome: kind };
    default:
      return { outcome: kind, portal };
  }
}

function portalOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parsePortalAddress(value);
  } catch {
    return undefined;
  }
}

function exchangeFailure(error: BitrixOAuthError, portal: string): AuthorizationOutcome {
  switch (error.category) {
    case 'expired_code':
    case 'invalid_grant':
      return { kind: 'code_expired', portal };
    case 'invalid_client':
      return { kind: 'denied', portal, reason: 'invalid_client' };
    case 'payment_required':
      return { kind: 'denied', portal, reason: 'payment_required' };
    default:
      // No retry: a second try could outlive the code and would hit the same server state anyway.
      return { kind: 'server_failed', portal, error: error.error };
  }
}

/** Replaces the user's chain at the version read; re-reads when somebody wrote in between. */
async function storeChain(issued: IssuedTokens, queryScope: string | undefined, deps: CompleteAuthorizationDeps) {
  const key: TokenKey = { memberId: issued.memberId, userId: issued.userId };
  const chain = {
    ...issued,
    scope: issued.scope ?? queryScope,
    source: 'oauth_code' as const,
    refreshExpiresAt: issued.refreshIssuedAt + deps.refreshTokenLifetimeMs,
    nextRefreshAt: deps.nextRefreshAt(issued),
  };
  for (let attempt = 1; ; attempt += 1) {
    const existing = await deps.tokens.getTokenSet(key);
    const now = deps.now();
    let stored: TokenSet;
    try {
      stored = await deps.tokens.storeNewChain({ ...chain, runRefreshes: 0, now }, existing?.version ?? null);
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
      continue;
    }
    await recordHistory(
      key,
      existing,
      (h) => withChain(h, { at: now, source: 'oauth_code', accessExpiresAt: issued.accessExpiresAt, refreshed: false }),
      { store: deps.tokens, logger: deps.logger, now: deps.now },
    );
    return stored;
  }
}

/** Creates the installation or updates its endpoints and portal host (from `client_endpoint`). */
async function saveInstallation(issued: IssuedTokens, queryScope: string | undefined, deps: CompleteAuthorizationDeps) {
  for (let attempt = 1; ; attempt += 1) {
    const existing = await deps.tokens.getInstallation(issued.memberId);
    const now = deps.now();
    try {
      return await deps.tokens.saveInstallation(
        {
          memberId: issued.memberId,
          // Never the answer's `domain`: that is the authorization server's host.
          domain: domainFromEndpoint(issued.clientEndpoint),
          clientEndpoint: issued.clientEndpoint,
          serverEndpoint: issued.serverEndpoint,
          // The server issued a code, so the app is installed on the portal now.
          status: 'active',
          uninstalledAt: undefined,
          appStatus: issued.appStatus ?? existing?.appStatus,
          scope: issued.scope ?? queryScope ?? existing?.scope,
          applicationTokenHash: existing?.applicationTokenHash,
          appVersion: existing?.appVersion,
          installedBy: existing?.installedBy ?? issued.userId,
          installedAt: existing?.installedAt ?? now,
          now,
        },
        existing?.version ?? null,
      );
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/**
 * A fixed first refresh of a new chain: ten minutes before its access token expires. For callers
 * without a refresh policy; deployments use `policyFirstRefreshAt`.
 */
export function defaultNextRefreshAt(issued: IssuedTokens): number {
  return issued.accessExpiresAt - 10 * 60_000;
}

/**
 * The first refresh of a new chain by the deployment's refresh policy (`REFRESH_POLICY` and its
 * leads), the same rule the sweep applies after every refresh.
 *
 * @example
 * const settings = refreshSettings(config);
 * const first = policyFirstRefreshAt(settings.policy, settings.refreshTokenLifetimeMs, Date.now);
 */
export function policyFirstRefreshAt(
  policy: RefreshPolicy,
  refreshTokenLifetimeMs: number,
  now: () => number,
  random: () => number = Math.random,
): (issued: IssuedTokens) => number {
  return (issued) =>
    nextRefreshAt(
      { accessExpiresAt: issued.accessExpiresAt, refreshExpiresAt: issued.refreshIssuedAt + refreshTokenLifetimeMs },
      now(),
      policy,
      random,
    );
}
