import {
  type EmulatorRequest,
  type EmulatorResponse,
  escapeHtml,
  htmlResponse,
  type RoutedRequest,
  redirectResponse,
  stringParam,
} from './http.js';
import { AUTH_SERVER_HOSTS } from './model.js';
import { restCall } from './portal-rest.js';
import type { EmulatorState, PortalState } from './state.js';

/**
 * A portal's virtual host: `/oauth/authorize/` (consent, auto-approved) and `/rest/{method}`.
 * A host the portal had before a rename answers every path with 302 to the same path on the
 * current host, as a real https URL (docs/PROTOCOL.md §3.2 "Other HTTP-level signals").
 */
export function routePortal(state: EmulatorState, host: string, request: EmulatorRequest): RoutedRequest | undefined {
  const found = state.portals.findByHost(host);
  if (found === undefined) return undefined;
  const { portal, renamed } = found;
  const moved = (): EmulatorResponse => redirectResponse(`https://${portal.domain}${request.path}${request.search}`);

  if (/^\/oauth\/authorize\/?$/.test(request.path)) {
    return {
      target: 'authorize',
      handle: () => {
        if (!renamed) return authorize(state, portal, request);
        state.counters.authorize('redirect_renamed');
        return moved();
      },
    };
  }
  const rest = /^\/rest\/([A-Za-z0-9_.]+?)(?:\.json)?\/?$/.exec(request.path);
  if (rest !== null) {
    const method = rest[1] ?? '';
    return {
      target: 'rest',
      handle: () => {
        if (!renamed) return restCall(state, portal, method, request);
        state.counters.rest(method.toLowerCase(), 'redirect_renamed');
        return moved();
      },
    };
  }
  if (renamed) return { target: undefined, handle: moved };
  if (request.path === '/' || request.path === '') {
    return { target: undefined, handle: () => portalHome(portal) };
  }
  return undefined;
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

function portalHome(portal: PortalState): EmulatorResponse {
  return htmlResponse(
    200,
    page(portal.domain, `<h1>${escapeHtml(portal.domain)}</h1><p>Bitrix24 portal (emulated).</p>`),
  );
}

/**
 * The portal's error page. Status 200 and no redirect: "Failed authorizations never reach
 * redirect_uri" (docs/PROTOCOL.md §2.3, §2.2).
 */
function authorizeError(portal: PortalState, message: string): EmulatorResponse {
  return htmlResponse(
    200,
    page(
      'Authorization error',
      `<h1>Authorization error</h1><p class="error">${escapeHtml(message)}</p><p>${escapeHtml(portal.domain)}</p>`,
    ),
  );
}

/**
 * `GET /oauth/authorize/?client_id=…&state=…[&user_id=…]`: the consent is auto-approved for
 * `user_id` (default: the first admin). `redirect_uri`/`scope` query parameters are ignored: both
 * come from the app's registration (docs/PROTOCOL.md §2.2).
 */
function authorize(state: EmulatorState, portal: PortalState, request: EmulatorRequest): EmulatorResponse {
  const clientId = stringParam(request, 'client_id');
  const app = clientId === undefined ? undefined : state.apps.get(clientId);
  if (app === undefined) {
    state.counters.authorize('unknown_client');
    return authorizeError(portal, 'Application not found.');
  }
  const installation = portal.installations.get(app.clientId);
  if (installation?.installed !== true) {
    state.counters.authorize('not_installed');
    return authorizeError(portal, 'The application is not installed on this Bitrix24.');
  }
  const userParam = stringParam(request, 'user_id');
  const userId = userParam === undefined ? state.defaultUser(portal) : Number.parseInt(userParam, 10);
  if (!portal.users.has(userId)) {
    state.counters.authorize('unknown_user');
    return authorizeError(portal, 'User not found.');
  }
  const code = state.tokens.issueCode({ clientId: app.clientId, memberId: portal.memberId, userId });
  if (app.redirectUri === undefined) {
    // Apps registered without a redirect URI get the code shown for manual entry (docs/PROTOCOL.md §2.2).
    state.counters.authorize('code_page');
    return htmlResponse(
      200,
      page('Authorization code', `<h1>Authorization code</h1><p><code id="code">${code}</code></p>`),
    );
  }
  const location = new URL(app.redirectUri);
  location.searchParams.append('code', code);
  // Echoed unchanged; an absent state arrives as an empty `state=` (docs/PROTOCOL.md §2.3).
  location.searchParams.append('state', stringParam(request, 'state') ?? '');
  location.searchParams.append('domain', portal.domain);
  location.searchParams.append('member_id', portal.memberId);
  location.searchParams.append('scope', app.scope.join(','));
  location.searchParams.append('server_domain', AUTH_SERVER_HOSTS[portal.region]);
  state.counters.authorize('redirect');
  return redirectResponse(location.toString());
}
