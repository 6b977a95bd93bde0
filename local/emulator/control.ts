import { framePageBridge } from './bx24.js';
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
import type { EmulatorApp, PortalPlan, Region } from './model.js';
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
    if (first === 'clock' && method === 'GET') return jsonResponse(200, { now: emulator.clock.now() });
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
          case 'finish-install':
            // What BX24.installFinish() does on a real portal; the frame page calls it for the framed app.
            emulator.finishInstall(portal, clientId);
            return done(`installation finished on ${portal.domain}`, { ok: true });
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

/**
 * The portal's page around the app: an auto-submitting form posts the frame to the install URL into an
 * iframe, as the portal does, and the page answers the app's BX24.js calls (`framePageBridge`), listing
 * each below the frame.
 */
function browserFrame(
  emulator: BitrixEmulator,
  portal: EmulatorPortal,
  clientId: string | undefined,
  userId: number | undefined,
): EmulatorResponse {
  const state = emulator.internalState;
  const app = state.app(clientId);
  const frame = emulator.frameRequest(state.portal(portal), app, { ...optional('userId', userId) });
  const inputs = Object.entries(frame.fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  state.counters.frameOpen(portal.memberId, 0);
  const ref = encodeURIComponent(portal.memberId);
  const bridge = framePageBridge({
    appOrigin: new URL(frame.url).origin,
    restBase: `/h/${portal.domain}/rest/`,
    finishUrl: `/_emulator/portals/${ref}/finish-install?clientId=${encodeURIComponent(app.clientId)}`,
    tokensUrl: `/_emulator/portals/${ref}/tokens?clientId=${encodeURIComponent(app.clientId)}${userId === undefined ? '' : `&userId=${userId}`}`,
    accessToken: frame.fields.AUTH_ID ?? '',
    domain: portal.domain,
    memberId: portal.memberId,
  });
  return htmlResponse(
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(portal.domain)} — app</title>` +
      `<style>body{margin:0;font-family:system-ui,sans-serif;color:#1d2330}header{background:#2fc6f6;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:baseline}` +
      `header a{color:#fff}iframe{border:0;width:100%;height:60vh;background:#fff;display:block}` +
      `section{padding:.5rem 1rem;background:#f5f7f8;border-top:1px solid #dfe3e6;font-size:.9rem}</style></head>` +
      `<body><header><b>${escapeHtml(portal.domain)}</b><span>the app as the portal frames it (Bitrix24 emulator)</span>` +
      `<a href="/">← emulator page</a></header>` +
      `<form id="frame" method="post" action="${escapeHtml(frame.url)}" target="app">${inputs}</form>` +
      `<iframe name="app" title="the app"></iframe>` +
      `<section><b>What the app asked the portal</b> (its BX24.js calls)<ol id="bx24-log"></ol></section>` +
      `${bridge}<script>document.getElementById('frame').submit()</script></body></html>`,
  );
}

function button(action: string, label: string, fields: Record<string, string> = {}, hint?: string): string {
  const hidden = Object.entries({ ...fields, _redirect: '1' })
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const title = hint === undefined ? '' : ` title="${escapeHtml(hint)}"`;
  return `<form method="post" action="${escapeHtml(action)}" class="inline">${hidden}<button${title}>${escapeHtml(label)}</button></form>`;
}

/** An action with the sentence that says what it does, so nobody has to guess from a label. */
function action(control: string, what: string): string {
  return `<li>${control} <span class="what">${escapeHtml(what)}</span></li>`;
}

/** `3 d 2 h` ahead of real time, or `real time`. */
function clockDrift(emulator: BitrixEmulator): string {
  const ahead = emulator.clock.now() - Date.now();
  if (Math.abs(ahead) < 60_000) return 'real time';
  const hours = Math.round(Math.abs(ahead) / 3_600_000);
  const text =
    hours >= 48
      ? `${Math.floor(hours / 24)} d ${hours % 24} h`
      : hours >= 1
        ? `${hours} h`
        : `${Math.round(Math.abs(ahead) / 60_000)} min`;
  return `${text} ${ahead > 0 ? 'ahead of' : 'behind'} real time`;
}

function appActions(portal: EmulatorPortal, app: EmulatorApp, base: string): string {
  const fields = { clientId: app.clientId };
  const query = `clientId=${encodeURIComponent(app.clientId)}`;
  if (!portal.isInstalled(app.clientId)) {
    return `<ul class="actions">${action(
      button(`${base}/install`, 'Install', fields),
      'An admin installs the app: Bitrix24 sends ONAPPINSTALL with a token pair to the event handler, which verifies and stores it.',
    )}</ul>`;
  }
  const paid = !portal.paymentExpired(app.clientId);
  const items = [
    app.installUrl === undefined
      ? ''
      : action(
          `<a class="button" href="${escapeHtml(`${base}/frame?${query}`)}" target="_blank">Open app in browser</a>`,
          'A user opens the app: the portal frames the install page and posts a fresh token pair (a new chain; also the way back from reauth_required).',
        ),
    action(
      `<a class="button" href="${escapeHtml(`${base}/authorize?${query}`)}">Authorize as admin</a>`,
      'The OAuth code flow: the service’s start link, the portal’s consent, the callback with a 30-second code.',
    ),
    action(
      button(`${base}/install`, 'Reinstall', fields),
      'Installs again: a new application token and a new chain by ONAPPINSTALL.',
    ),
    action(button(`${base}/update`, 'Update', fields), 'A new app version: ONAPPUPDATE with a new chain.'),
    action(
      button(`${base}/uninstall`, 'Uninstall', fields),
      'Removes the app: every token is revoked and ONAPPUNINSTALL (no tokens) is sent.',
    ),
    action(
      paid
        ? button(`${base}/payment`, 'Payment expired', { ...fields, state: 'expired' })
        : button(`${base}/payment`, 'Payment ok', { ...fields, state: 'ok' }),
      paid
        ? 'The subscription ends: the authorization server answers PAYMENT_REQUIRED to refreshes.'
        : 'The subscription is paid again: refreshes work again.',
    ),
  ];
  return `<ul class="actions">${items.join('')}</ul>`;
}

function portalCard(emulator: BitrixEmulator, portal: EmulatorPortal): string {
  const base = `/_emulator/portals/${encodeURIComponent(portal.memberId)}`;
  const apps = emulator.apps
    .map((app) => {
      const installed = portal.isInstalled(app.clientId);
      const state = !installed
        ? 'not installed'
        : portal.installFinished(app.clientId)
          ? 'installed'
          : 'installed, waiting for the app to call BX24.installFinish()';
      const payment = installed && portal.paymentExpired(app.clientId) ? ', payment expired' : '';
      return `<div class="app"><p>App <code>${escapeHtml(app.clientId)}</code>: <b class="state">${escapeHtml(state + payment)}</b></p>${appActions(portal, app, base)}</div>`;
    })
    .join('');
  const renamed =
    portal.previousDomains.length > 0 ? ` · formerly ${escapeHtml(portal.previousDomains.join(', '))}` : '';
  return (
    `<section class="portal" data-domain="${escapeHtml(portal.domain)}"><h3>${escapeHtml(portal.domain)}</h3>` +
    `<p class="muted">member_id <code>${escapeHtml(portal.memberId)}</code> · ${escapeHtml(portal.region)} region ` +
    `(authorization server ${escapeHtml(portal.authServerHost)}) · ${escapeHtml(portal.plan)} plan${renamed}</p>${apps}` +
    `<form method="post" action="${escapeHtml(`${base}/rename`)}" class="inline"><input type="hidden" name="_redirect" value="1">` +
    `<input name="domain" placeholder="new-name.bitrix24.com" aria-label="new domain"> <button>Rename</button></form> ` +
    '<span class="what">Later REST calls to the old address get a 302 to the new one.</span></section>'
  );
}

/** Counters a person can read: per portal, what reached the authorization server and the app. */
function countersTable(emulator: BitrixEmulator): string {
  const counters = emulator.counters;
  const rows = emulator.portals.map((portal) => {
    const refreshes = counters.refreshes[portal.memberId]?.ok ?? 0;
    const events = counters.events.recent.filter((event) => event.memberId === portal.memberId);
    const frames = counters.frameOpens.byPortal[portal.memberId] ?? 0;
    const last = events.at(-1);
    return `<tr><td>${escapeHtml(portal.domain)}</td><td>${refreshes}</td><td>${events.length}${last === undefined ? '' : ` (last ${escapeHtml(last.event)} → HTTP ${last.status})`}</td><td>${frames}</td></tr>`;
  });
  const grants = Object.entries(counters.token.byGrant)
    .map(
      ([grant, outcomes]) =>
        `${escapeHtml(grant)}: ${Object.entries(outcomes)
          .map(([o, n]) => `${n} ${escapeHtml(o)}`)
          .join(', ')}`,
    )
    .join('; ');
  return (
    '<table><thead><tr><th>Portal</th><th>Refreshes</th><th>Events sent</th><th>App opens</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table><p class="muted">Token endpoint: ${grants === '' ? 'no request yet' : grants}.</p>`
  );
}

function faultsList(emulator: BitrixEmulator): string {
  const set = ALL_SCOPES.map((scope) => [scope, emulator.faults.get(scope)] as const).filter(
    ([, settings]) => Object.keys(settings).length > 0,
  );
  if (set.length === 0) return '<p class="muted">No fault is set: every request is answered normally.</p>';
  return `<ul>${set
    .map(
      ([scope, settings]) =>
        `<li><b>${escapeHtml(scope)}</b>: ${Object.entries(settings)
          .map(
            ([key, value]) => `${escapeHtml(key)} ${escapeHtml(typeof value === 'object' ? 'custom' : String(value))}`,
          )
          .join(', ')}</li>`,
    )
    .join('')}</ul>${button('/_emulator/faults/clear', 'Clear all faults')}`;
}

const PAGE_STYLE =
  'body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#1d2330;line-height:1.45}' +
  'h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}h3{margin:.2rem 0}code{background:#f2f4f7;padding:0 .2rem}' +
  '.inline{display:inline}.muted,.what{color:#667085}.what{font-size:.9rem}.message{background:#fff7d6;padding:.5rem;border-radius:4px}' +
  '.links a{margin-right:1rem}.portal{border:1px solid #dfe3e6;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0}' +
  '.actions{list-style:none;padding:0;margin:.3rem 0}.actions li{margin:.35rem 0}' +
  'button,a.button{font:inherit;padding:.25rem .7rem;border:1px solid #2066d1;border-radius:4px;background:#2066d1;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}' +
  'table{border-collapse:collapse}td,th{border-bottom:1px solid #e4e7ec;padding:.25rem .6rem;text-align:left}';

function controlPage(emulator: BitrixEmulator, request: EmulatorRequest): EmulatorResponse {
  const message = stringParam(request, 'message');
  const links = emulator.links
    .map((link) => `<a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a>`)
    .join('');
  const clock =
    `<p>Emulator clock: <b id="clock">${escapeHtml(new Date(emulator.clock.now()).toISOString())}</b> ` +
    `<span class="muted">(${escapeHtml(clockDrift(emulator))})</span> ` +
    button('/_emulator/clock', '+1 hour', { advanceMs: String(3_600_000) }) +
    ' ' +
    button('/_emulator/clock', '+1 day', { advanceMs: String(86_400_000) }) +
    ' ' +
    button('/_emulator/clock', '+31 days', { advanceMs: String(31 * 86_400_000) }) +
    '</p><p class="what">Portals and authorization servers run on this clock, and so does the service of <code>npm start</code>. ' +
    '+1 hour: every access token expires, and the next sweep refreshes the due ones. ' +
    '+31 days: every refresh token is past its 30 days, so the next refresh ends in reauth_required ' +
    '(as if the service had been off for a month); “Open app in browser” brings a portal back.</p>';
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bitrix24 emulator</title><style>${PAGE_STYLE}</style></head><body>` +
    '<h1>Bitrix24 emulator</h1>' +
    '<p class="muted">Stands in for Bitrix24 portals and both authorization servers on this machine. ' +
    `The service reaches it through <code>BITRIX_URL_REWRITES</code> (<code>${escapeHtml(emulator.baseUrl)}/h/{host}</code>).</p>` +
    (links === '' ? '' : `<p class="links">${links}</p>`) +
    (message === undefined ? '' : `<p class="message" role="status">${escapeHtml(message)}</p>`) +
    clock +
    `<h2>Portals</h2>${emulator.portals.map((portal) => portalCard(emulator, portal)).join('')}` +
    '<form method="post" action="/_emulator/portals"><input type="hidden" name="_redirect" value="1">' +
    '<input name="domain" placeholder="portal.bitrix24.com" aria-label="domain" required> <select name="region" aria-label="region"><option value="west">west</option><option value="east">east</option></select> ' +
    '<button>Add portal</button></form>' +
    `<h2>What happened</h2>${countersTable(emulator)}${button('/_emulator/counters/reset', 'Reset counters')}` +
    `<details><summary>Faults (for tests and experiments)</summary>${faultsList(emulator)}` +
    '<p class="what">Set them through the JSON API: <code>POST /_emulator/faults/token</code> with <code>failNext</code>, <code>hang</code>, …</p></details>' +
    '</body></html>';
  return htmlResponse(200, html);
}
