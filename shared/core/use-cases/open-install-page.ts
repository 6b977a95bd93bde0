import {
  claimFromInstallFrame,
  type InstallFrameQueryWire,
  lifecycleSchemas,
} from '#shared/core/domain/lifecycle-events.js';
import { parsePortalAddress } from '#shared/core/domain/portal-address.js';
import type { InstallClaimDeps, RefusalReason } from './finish-install-claim.js';
import { registerInstallation } from './register-installation.js';

export interface OpenInstallPageDeps extends InstallClaimDeps {
  /** `DEFAULT_SERVER_ENDPOINT`: tried first when the frame names no server. */
  readonly defaultServerEndpoint: string;
}

export interface InstallPageInput {
  readonly method: string;
  /** The query string's parameters (`DOMAIN`, `PROTOCOL`, `LANG`, `APP_SID`). */
  readonly query: unknown;
  /** The parsed POST body, undefined without one. */
  readonly body: unknown;
}

/**
 * What the page shows. `frameOrigin` is the portal origin allowed to frame the page
 * (`https://portal.bitrix24.com`, or `http://host:port` on premise): the verified portal where there is
 * one, else the portal the query names.
 */
export type InstallPageOutcome =
  /** Opened outside Bitrix24 (a GET, or a POST without the frame's fields). */
  | { readonly kind: 'not_in_frame'; readonly frameOrigin?: string | undefined }
  /** A frame POST missing or garbling a field. */
  | { readonly kind: 'invalid'; readonly frameOrigin?: string | undefined; readonly problem: string }
  /** Verified and stored; the app is being installed: the page calls `BX24.installFinish()`. */
  | { readonly kind: 'installing'; readonly frameOrigin: string; readonly portal: string }
  /** Verified (or a reload of a verified frame); a later app open: the normal page. */
  | { readonly kind: 'connected'; readonly frameOrigin: string; readonly portal: string; readonly placement: string }
  /** The authorization server could not be asked; the frame's tokens are parked and finished later. */
  | { readonly kind: 'pending'; readonly frameOrigin?: string | undefined }
  /** The frame's tokens were spent but could not be stored: operators were told; opening the app again retries. */
  | { readonly kind: 'lost'; readonly frameOrigin?: string | undefined }
  /** Verification failed: nothing was stored. */
  | {
      readonly kind: 'refused';
      readonly frameOrigin?: string | undefined;
      readonly reason: RefusalReason | 'uninstalled';
    };

/**
 * Serves the install frame and later app opens (both POST the frame's tokens, docs/PROTOCOL.md §5): verifies
 * the tokens like an install event (`registerInstallation`), stores them as a new chain of the user
 * who opened the app — which also repairs a portal whose chain died (`reauth_required`) — and decides
 * which page to show. `APP_SID` is a per-render session id and is never taken for the application
 * token.
 *
 * @example
 * const outcome = await openInstallPage({ method: 'POST', query, body }, deps);
 */
export async function openInstallPage(
  request: InstallPageInput,
  deps: OpenInstallPageDeps,
): Promise<InstallPageOutcome> {
  const query = queryOf(request.query);
  const queryOrigin = originFromQuery(query);
  if (request.method.toUpperCase() !== 'POST' || !isFramePost(request.body)) {
    return { kind: 'not_in_frame', frameOrigin: queryOrigin };
  }
  const parsed = lifecycleSchemas().installFrameBody.safeParse(request.body);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? 'body').slice(0, 40)))];
    return {
      kind: 'invalid',
      frameOrigin: queryOrigin,
      problem: `missing or malformed: ${fields.slice(0, 5).join(', ')}`,
    };
  }
  const body = parsed.data;
  const placement = (body.PLACEMENT ?? 'DEFAULT').toUpperCase();
  const claim = claimFromInstallFrame(body, deps.now(), {
    defaultServerEndpoint: deps.defaultServerEndpoint,
    allowedAuthServers: deps.allowedAuthServers,
    domain: queryOrigin === undefined ? undefined : new URL(queryOrigin).host,
  });
  const outcome = await registerInstallation(claim, deps);
  switch (outcome.kind) {
    case 'registered': {
      const frameOrigin = new URL(outcome.clientEndpoint).origin;
      const portal = new URL(outcome.clientEndpoint).host;
      if (placement === 'DEFAULT' && outcome.newInstallation) return { kind: 'installing', frameOrigin, portal };
      return { kind: 'connected', frameOrigin, portal, placement };
    }
    case 'duplicate': {
      // A reload re-posts the same frame: show the page again without touching anything.
      const installation = outcome.installation;
      if (installation?.status === 'active') {
        const url = new URL(installation.clientEndpoint);
        return { kind: 'connected', frameOrigin: url.origin, portal: url.host, placement };
      }
      return { kind: 'refused', frameOrigin: queryOrigin, reason: 'uninstalled' };
    }
    case 'parked':
      return { kind: 'pending', frameOrigin: queryOrigin };
    case 'lost':
      return { kind: 'lost', frameOrigin: queryOrigin };
    case 'stale':
      return { kind: 'refused', frameOrigin: queryOrigin, reason: 'uninstalled' };
    case 'refused':
      return { kind: 'refused', frameOrigin: queryOrigin, reason: outcome.reason };
  }
}

/** A frame POST carries the tokens; anything else is somebody opening the URL by hand. */
function isFramePost(body: unknown): boolean {
  return typeof body === 'object' && body !== null && ('AUTH_ID' in body || 'REFRESH_ID' in body);
}

function queryOf(query: unknown): InstallFrameQueryWire {
  const parsed = lifecycleSchemas().installFrameQuery.safeParse(query ?? {});
  return parsed.success ? parsed.data : {};
}

/** `DOMAIN` + `PROTOCOL` (0 = http, 1 = https) → an origin, when `DOMAIN` is a plain host[:port]. */
export function originFromQuery(query: InstallFrameQueryWire): string | undefined {
  if (query.DOMAIN === undefined) return undefined;
  try {
    const host = parsePortalAddress(query.DOMAIN);
    return `${query.PROTOCOL === '0' ? 'http' : 'https'}://${host}`;
  } catch {
    return undefined;
  }
}
