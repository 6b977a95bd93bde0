import type { BitrixEmulator, LifecycleResult } from './emulator.js';
import { FAULT_TARGETS, type FaultScope, type FaultSettings } from './faults.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  escapeHtml,
  htmlResponse,
  isRecord,
  jsonResponse,
  type RoutedRequest,
  redirectResponse,
  stringParam,
} from './http.js';
import type { PortalPlan, Region } from './model.js';
import type { EmulatorPortal } from './state.js';

/**
 * The emulator's own pages: `GET /` (a small HTML control page for people running the service
 * locally) and a JSON API under `/_emulator/…` mirroring the actions (for the local runner).
 *
 * HTML forms post with `_redirect=1`; the answer is then a 303 back to `/` with a message instead of
 * JSON. Responses never contain secrets except `POST /_emulator/portals/{ref}/tokens` and `/code`,
 * whose whole point is to hand out a chain or a code, and the browser frame page, which like the real
 * portal embeds the frame's tokens.
 */
export function routeControl(emulator: BitrixEmulator, request: EmulatorRequest): RoutedRequest | undefined {
  const { method, path } = request;
  if (method === 'GET' && (path === '/' || path === ''))
    return { target: undefined, handle: () => controlPage(emulator, request) };
  if (!path.startsWith('/_emulator/')) return undefined;
  const parts = path.slice('/_emulator/'.length).replace(/\/+$/, '').split('/').map(decodeURIComponent);
  return { target: undefined, handle: () => controlApi(emulator, request, method, parts) };
}

function intParam(request: EmulatorRequest, name: string): number | undefined {
  const text = stringParam(request, name);
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function boolParam(request: EmulatorRequest, name: string): boolean | undefined {
  const text = stringParam(request, name);
  if (text === undefined || text === '') return undefined;
  return text === '1' || text === 'true' || text === 'on' || text === 'Y';
}

/** `{ key: value }` when the value is defined, `{}` otherwise (for `exactOptionalPropertyTypes`-safe spreads). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  const out: { [P in K]?: V } = {};
  if (value !== undefined) out[key] = value;
  return out;
}

const PLANS: readonly PortalPlan[] = ['free', 'basic', 'standard', 'professional', 'enterprise'];

function planParam(request: EmulatorRequest): PortalPlan | undefined {
  const text = stringParam(request, 'plan');
  return PLANS.find((plan) => plan === text);
}

const ALL_SCOPES: readonly FaultScope[] = [...FAULT_TARGETS, '*'];

/** A delivery without its (token-bearing) request body and without tokens. */
function deliverySummary(result: LifecycleResult): Record<string, unknown> {
  return {
    delivered: result.delivered,
    status: result.status,
    body: result.body.slice(0, 2000),
    ...(result.error !== undefined ? { error: result.error } : {}),
    chainId: result.tokens?.chainId,
  };
}

function portalSummary(emulator: BitrixEmulator, portal: EmulatorPortal): Record<string, unknown> {
  return {
    domain: portal.domain,
    memberId: portal.memberId,
    region: portal.region,
    plan: portal.plan,
    authServerHost: portal.authServerHost,
    previousDomains: portal.previousDomains,
    users: portal.users,
    installed: Object.fromEntries(emulator.apps.map((app) => [app.clientId, portal.isInstalled(app.clientId)])),
  };
}

async function controlApi(
  emulator: BitrixEmulator,
  request: EmulatorRequest,
  method: string,
  parts: string[],
): Promise<EmulatorResponse> {
  const wantsRedirect = stringParam(request, '_redirect') === '1';
  const done = (message: string, value: unknown): EmulatorResponse =>
    wantsRedirect ? redirectResponse(`/?message=${encodeURIComponent(message)}`, 303) : jsonResponse(200, value);
  try {
    const [first, second, third] = parts;
    if (first === 'state' && method === 'GET') {
      return jsonResponse(200, {
        baseUrl: emulator.baseUrl,
        urlRewrites: emulator.urlRewrites,
        now: emulator.clock.now(),
        apps: emulator.apps.map((app) => ({
          clientId: app.clientId,
          redirectUri: app.redirectUri,
          eventHandlerUrl: app.eventHandlerUrl,
          installUrl: app.installUrl,
          scope: app.scope,
        })),
        portals: emulator.portals.map((portal) => portalSummary(emulator, portal)),
      });
    }
    if (first === 'counters') {
      if (method === 'GET') return jsonResponse(200, emulator.counters);
      if (method === 'POST' && second === 'reset') {
        emulator.resetCounters();
        return done('counters reset', { ok: true });
      }
    }
    if (first === 'clock' && method === 'POST') {
      const advance = intParam(request, 'advanceMs');
      const set = intParam(request, 'set');
      if (advance !== undefined) emulator.clock.advance(advance);
      if (set !== undefined) emulator.clock.set(set);
      return done(`clock now ${new Date(emulator.clock.now()).toISOString()}`, { now: emulator.clock.now() });
    }
    if (first === 'faults') return faultsApi(emulator, request, method, second, done);
    if (first === 'portals' && second === undefined && method === 'POST') {
      const domain = stringParam(request, 'domain');
      const region = stringParam(request, 'region') ?? 'west';
      if (domain === undefined || (region !== 'west' && region !== 'east'))
        return jsonResponse(400, { error: 'domain and region (west|east) required' });
      const portal = emulator.addPortal({
        domain,
        region: region satisfies Region,
        ...optional('memberId', stringParam(request, 'memberId')),
        ...optional('plan', planParam(request)),
        ...optional('installed', boolParam(request, 'installed')),
      });
      return done(`portal ${portal.domain} added`, portalSummary(emulator, portal));
    }
    if (first === 'portals' && second !== undefined) {
      const portal = emulator.portal(second);
      const clientId = stringParam(request, 'clientId');
      const userId = intParam(request, 'userId');
      if (method === 'GET' && third === undefined) return jsonResponse(200, portalSummary(emulator, portal));
      if (method === 'GET' && third === 'chains')
        return jsonResponse(200, emulator.chainState(portal, userId, clientId));
      if (method === 'GET' && third === 'frame') return browserFrame(emulator, portal, clientId, userId);
      if (method === 'GET' && third === 'authorize') {
        const app = emulator.app(clientId);
        if (app.authorizeStartUrl !== undefined)
          return redirectResponse(app.authorizeStartUrl.replaceAll('{domain}', encodeURIComponent(portal.domain)));
        const authorize = new URL(`https://${portal.domain}/oauth/authorize/`);
        authorize.searchParams.set('client_id', app.clientId);
        if (userId !== undefined) authorize.searchParams.set('user_id', String(userId));
        return redirectResponse(emulator.urlFor(authorize.toString()));
      }
      if (method === 'POST') {
        switch (third) {
          case 'install': {
            const result = await emulator.install(portal, {
              ...optional('clientId', clientId),
              ...optional('userId', userId),
              ...optional('appVersion', intParam(request, 'appVersion')),
              ...optional('sendEvent', boolParam(request, 'sendEvent')),
              ...optional('installFinished', boolParam(request, 'installFinished')),
            });
            return done(
              `installed on ${portal.domain}: event ${result.delivered ? `HTTP ${result.status}` : 'not sent'}`,
              deliverySummary(result),
            );
          }
          case 'update': {
            const result = await emulator.update(portal, {
              ...optional('clientId', clientId),
              ...optional('userId', userId),
              ...optional('version', intParam(request, 'version')),
              ...optional('rotateApplicationToken', boolParam(request, 'rotateApplicationToken')),
            });
            return done(
              `updated on ${portal.domain}: event ${result.delivered ? `HTTP ${result.status}` : 'not sent'}`,
              deliverySummary(result),
            );
          }
          case 'uninstall': {
            const result = await emulator.uninstall(portal, {
              ...optional('clientId', clientId),
              ...optional('clean', boolParam(request, 'clean')),
            });
            return done(
              `uninstalled from ${portal.domain}: event ${result.delivered ? `HTTP ${result.status}` : 'not sent'}`,
              deliverySummary(result),
            );
          }
          case 'open': {
            const result = await emulator.openApp(portal, {
              ...optional('clientId', clientId),
              ...optional('userId', userId),
            });
            return done(`frame POST on ${portal.domain}: HTTP ${result.status}`, {
              status: result.status,
              body: result.body.slice(0, 2000),
              chainId: result.tokens.chainId,
              ...(result.error !== undefined ? { error: result.error } : {}),
            });
          }
          case 'rename': {
            const domain = stringParam(request, 'domain');
            if (domain === undefined || domain.trim() === '') return jsonResponse(400, { error: 'domain required' });
            const renamed = emulator.rename(portal, domain);
            return done(`renamed to ${renamed.domain}`, portalSummary(emulator, renamed));
          }
          case 'payment': {
            const payment = stringParam(request, 'state');
            if (payment !== 'expired' && payment !== 'ok')
              return jsonResponse(400, { error: "state must be 'expired' or 'ok'" });
            emulator.setPayment(portal, payment, clientId);
            return done(`payment ${payment} on ${portal.domain}`, { ok: true });
          }
          case 'tokens': {
            const tokens = emulator.issueTokens(portal, userId, { ...optional('clientId', clientId) });
            return jsonResponse(200, tokens);
          }
          case 'code':
            return jsonResponse(200, { code: emulator.issueCode(portal, userId, clientId) });
          case 'block': {
            const name = stringParam(request, 'method');
            if (name === undefined) return jsonResponse(400, { error: 'method required' });
            emulator.blockMethod(portal, name, intParam(request, 'forMs'));
            return done(`${name} blocked`, { ok: true });
          }
          case 'revoke':
            return done('tokens revoked', { revoked: emulator.revokeApp(portal, clientId) });
          default:
            break;
        }
      }
    }
    return jsonResponse(404, { error: 'unknown control route' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return wantsRedirect
      ? redirectResponse(`/?message=${encodeURIComponent(`error: ${message}`)}`, 303)
      : jsonResponse(409, { error: message });
  }
}

function faultsApi(
  emulator: BitrixEmulator,
  request: EmulatorRequest,
  method: string,
  scope: string | undefined,
  done: (message: string, value: unknown) => EmulatorResponse,
): EmulatorResponse {
  const scopes = ALL_SCOPES;
  const isScope = (value: string | undefined): value is FaultScope =>
    value !== undefined && (scopes as readonly string[]).includes(value);
  if (method === 'GET') return jsonResponse(200, Object.fromEntries(scopes.map((s) => [s, emulator.faults.get(s)])));
  if (method === 'DELETE' || (method === 'POST' && scope === 'clear')) {
    const target = method === 'DELETE' ? scope : stringParam(request, 'scope');
    if (target !== undefined && target !== '' && !isScope(target))
      return jsonResponse(400, { error: `unknown fault scope ${target}` });
    emulator.faults.clear(target === undefined || target === '' ? undefined : target);
    return done('faults cleared', { ok: true });
  }
  if (method === 'POST' && isScope(scope)) {
    const settings: FaultSettings = {
      ...optional('latencyMs', intParam(request, 'latencyMs')),
      ...optional('failNext', intParam(request, 'failNext')),
      ...optional('failStatus', intParam(request, 'failStatus')),
      ...optional('failRate', intParam(request, 'failRate')),
      ...optional('hang', boolParam(request, 'hang')),
      ...optional('errorsAsHttp200', boolParam(request, 'errorsAsHttp200')),
      ...optional('applyAfter', boolParam(request, 'applyAfter')),
      ...malformedParam(request),
      ...failBodyParam(request),
    };
    emulator.faults.set(scope, settings);
    return done(`faults set on ${scope}`, emulator.faults.get(scope));
  }
  return jsonResponse(404, { error: 'unknown faults route' });
}

function malformedParam(request: EmulatorRequest): Pick<FaultSettings, 'malformed200'> {
  const value = request.body.malformed200 ?? request.query.malformed200;
  if (value === true || value === 'true' || value === '1' || value === 'not-json') return { malformed200: 'not-json' };
  if (value === 'no-tokens') return { malformed200: 'no-tokens' };
  if (value === false || value === 'false' || value === '0') return { malformed200: false };
  return {};
}

function failBodyParam(request: EmulatorRequest): Pick<FaultSettings, 'failBody'> {
  const value = request.body.failBody;
  if (typeof value === 'string' || isRecord(value)) return { failBody: value };
  return {};
}

/** An auto-submitting form that posts the frame to the install URL in the browser, as the portal's iframe does. */
function browserFrame(
  emulator: BitrixEmulator,
  portal: EmulatorPortal,
  clientId: string | undefined,
  userId: number | undefined,
): EmulatorResponse {
  const state = emulator.internalState;
  const frame = emulator.frameRequest(state.portal(portal), state.app(clientId), { ...optional('userId', userId) });
  const inputs = Object.entries(frame.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  state.counters.frameOpen(portal.memberId, 0);
  return htmlResponse(
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(portal.domain)} — app</title></head>` +
      `<body style="margin:0"><form id="frame" method="post" action="${escapeHtml(frame.url)}" target="app">${inputs}</form>` +
      `<iframe name="app" style="border:0;width:100vw;height:100vh"></iframe>` +
      `<script>document.getElementById('frame').submit()</script></body></html>`,
  );
}

function button(action: string, label: string, fields: Record<string, string> = {}): string {
  const hidden = Object.entries({ ...fields, _redirect: '1' })
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<form method="post" action="${escapeHtml(action)}" style="display:inline">${hidden}<button>${escapeHtml(label)}</button></form>`;
}

function controlPage(emulator: BitrixEmulator, request: EmulatorRequest): EmulatorResponse {
  const message = stringParam(request, 'message');
  const apps = emulator.apps;
  const rows = emulator.portals
    .map((portal) => {
      const base = `/_emulator/portals/${encodeURIComponent(portal.memberId)}`;
      const perApp = apps
        .map((app) => {
          const installed = portal.isInstalled(app.clientId);
          const fields = { clientId: app.clientId };
          const actions = installed
            ? [
                button(`${base}/install`, 'Reinstall', fields),
                button(`${base}/update`, 'Update', fields),
                button(`${base}/uninstall`, 'Uninstall', fields),
                app.installUrl === undefined ? '' : button(`${base}/open`, 'Open app (server POST)', fields),
                app.installUrl === undefined
                  ? ''
                  : `<a href="${escapeHtml(`${base}/frame?clientId=${encodeURIComponent(app.clientId)}`)}" target="_blank">Open app in browser</a>`,
                `<a href="${escapeHtml(`${base}/authorize?clientId=${encodeURIComponent(app.clientId)}`)}">Authorize as admin</a>`,
                button(`${base}/payment`, 'Payment expired', { ...fields, state: 'expired' }),
                button(`${base}/payment`, 'Payment ok', { ...fields, state: 'ok' }),
              ]
            : [button(`${base}/install`, 'Install', fields)];
          return `<div><code>${escapeHtml(app.clientId)}</code> — ${installed ? 'installed' : 'not installed'} ${actions.join(' ')}</div>`;
        })
        .join('');
      const rename =
        `<form method="post" action="${escapeHtml(`${base}/rename`)}" style="display:inline">` +
        `<input type="hidden" name="_redirect" value="1"><input name="domain" placeholder="new domain"><button>Rename</button></form>`;
      return (
        `<tr><td><b>${escapeHtml(portal.domain)}</b><br><small>${escapeHtml(portal.memberId)}</small>` +
        `${portal.previousDomains.length > 0 ? `<br><small>was ${escapeHtml(portal.previousDomains.join(', '))}</small>` : ''}</td>` +
        `<td>${escapeHtml(portal.region)} (${escapeHtml(portal.authServerHost)})<br>${escapeHtml(portal.plan)}</td>` +
        `<td>${perApp}${rename}</td></tr>`
      );
    })
    .join('');
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>Bitrix24 emulator</title>` +
    `<style>body{font-family:sans-serif;margin:2em}td{border-top:1px solid #ccc;padding:.5em;vertical-align:top}` +
    `form{margin:.1em}pre{background:#f4f4f4;padding:1em;overflow:auto}</style></head><body>` +
    `<h1>Bitrix24 emulator</h1>` +
    (message === undefined ? '' : `<p style="background:#ffc;padding:.5em">${escapeHtml(message)}</p>`) +
    `<p>Base URL <code>${escapeHtml(emulator.baseUrl)}</code>; BITRIX_URL_REWRITES <code>${escapeHtml(JSON.stringify(emulator.urlRewrites))}</code></p>` +
    `<p>Clock: ${escapeHtml(new Date(emulator.clock.now()).toISOString())} ` +
    button('/_emulator/clock', '+1 hour', { advanceMs: String(3_600_000) }) +
    button('/_emulator/clock', '+1 day', { advanceMs: String(86_400_000) }) +
    button('/_emulator/clock', '+31 days', { advanceMs: String(31 * 86_400_000) }) +
    `</p><h2>Portals</h2><table>${rows}</table>` +
    `<h3>Add portal</h3><form method="post" action="/_emulator/portals"><input type="hidden" name="_redirect" value="1">` +
    `<input name="domain" placeholder="portal.bitrix24.com" required> <select name="region"><option value="west">west</option><option value="east">east</option></select> ` +
    `<button>Add</button></form>` +
    `<h2>Faults</h2><pre>${escapeHtml(JSON.stringify(Object.fromEntries(ALL_SCOPES.map((scope) => [scope, emulator.faults.get(scope)])), null, 2))}</pre>` +
    button('/_emulator/faults/clear', 'Clear all faults') +
    `<h2>Counters</h2>${button('/_emulator/counters/reset', 'Reset counters')}<pre>${escapeHtml(JSON.stringify(emulator.counters, null, 2))}</pre>` +
    `</body></html>`;
  return htmlResponse(200, html);
}
