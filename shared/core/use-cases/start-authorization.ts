import { hashBrowserBinding, isOpaqueValue, newOpaqueValue } from '#shared/core/domain/authorization-state.js';
import { ValidationError } from '#shared/core/domain/errors.js';
import { parseAllowedPortal } from '#shared/core/domain/portal-address.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import { rewriteUrl } from '#shared/core/domain/url-rewrites.js';
import type { ClientIdProvider } from '#shared/core/ports/oauth-client.js';
import type { OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';

export interface StartAuthorizationDeps {
  readonly states: OAuthStateRepository;
  /** The app's client id (never the secret: this use case serves anonymous requests). */
  readonly clientId: ClientIdProvider;
  /** `BITRIX_ON_PREMISE_PORTALS`: the on-premise portals a browser may be sent to (cloud portals always). */
  readonly onPremisePortals: readonly string[];
  /** How long the user has to come back through the callback. */
  readonly stateTtlMs: number;
  /** `BITRIX_URL_REWRITES`: lets the browser reach an emulator instead of the real portal. */
  readonly urlRewrites: Readonly<Record<string, string>>;
  readonly now: () => number;
}

export interface StartAuthorizationInput {
  /** The portal address as the user typed it (validated here). */
  readonly portal: string;
  /** The browser's existing binding cookie, if any: reused so parallel tabs do not cancel each other. */
  readonly browserBinding?: string | undefined;
}

/** What the start endpoint does: send the browser to the portal, or explain the address problem. */
export type StartOutcome = StartedAuthorization | { readonly kind: 'invalid_portal'; readonly message: string };

export interface StartedAuthorization {
  readonly kind: 'redirect';
  /** The normalised portal host (with port when not 443). */
  readonly portal: string;
  /** Where to send the browser: the portal's consent page. */
  readonly authorizeUrl: string;
  /** The value for the browser-binding cookie. Secret: never log it. */
  readonly browserBinding: string;
  /** after which the callback refuses this authorization. */
  readonly expiresAt: EpochMs;
}

/**
 * Starts the authorization-code flow for a portal: stores a single-use `state` bound to the browser
 * (only the hash of the cookie value is stored) and builds the portal's authorize URL. An address that
 * is not a plain host name with an optional port, or neither a Bitrix24 cloud portal nor an allowed
 * on-premise one, comes back as `invalid_portal` before anything is read or stored.
 *
 * @example
 * const started = await startAuthorization({ portal: 'alpha.bitrix24.com' }, deps);
 * if (started.kind === 'redirect') // 302 to started.authorizeUrl, cookie = started.browserBinding
 */
export async function startAuthorization(
  input: StartAuthorizationInput,
  deps: StartAuthorizationDeps,
): Promise<StartOutcome> {
  let portal: string;
  try {
    portal = parseAllowedPortal(input.portal, deps.onPremisePortals);
  } catch (error) {
    if (error instanceof ValidationError) return { kind: 'invalid_portal', message: error.message };
    throw error;
  }
  const clientId = await deps.clientId.clientId();
  const state = newOpaqueValue();
  const browserBinding = isOpaqueValue(input.browserBinding) ? input.browserBinding : newOpaqueValue();
  const createdAt = deps.now();
  const expiresAt = createdAt + deps.stateTtlMs;
  await deps.states.put({
    state,
    portal,
    browserBindingHash: hashBrowserBinding(browserBinding),
    createdAt,
    expiresAt,
  });
  const query = new URLSearchParams({ client_id: clientId, state });
  // The data keeps the real portal URL; only the transport (here: the browser) is redirected.
  const authorizeUrl = rewriteUrl(`https://${portal}/oauth/authorize/?${query.toString()}`, deps.urlRewrites);
  return { kind: 'redirect', portal, authorizeUrl, browserBinding, expiresAt };
}
