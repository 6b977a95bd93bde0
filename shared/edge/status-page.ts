import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  describeRow,
  isRowStatus,
  type PortalRowStatus,
  type PortalStatusReport,
  type PortalStatusRow,
  ROW_STATUSES,
} from '#shared/core/use-cases/portal-status.js';
import { renderChainTimeline } from './chain-timeline.js';
import { escapeHtml, htmlPage, json } from './responses.js';

/** Reads the report (every status, or only the given ones). */
export type LoadPortalStatus = (statuses?: readonly PortalRowStatus[]) => Promise<PortalStatusReport>;

/** What each status means, shown as the counter's tooltip. */
const STATUS_HINTS: Readonly<Record<PortalRowStatus, string>> = {
  reauth_required: 'The refresh chain is dead: a user of the portal must open the app (or authorize again).',
  invalid_client:
    'The authorization server rejects our client id/secret: check the credentials secret (the tokens are kept and retried).',
  payment_required: "The portal's subscription ended; tokens come back when it is paid.",
  degraded: 'Refreshes fail for transient reasons; the sweep keeps retrying with the old tokens.',
  no_tokens: 'Installed, but no token set: a user must open the app.',
  active: 'Tokens work and are kept alive.',
  uninstalled: 'The app was removed from the portal.',
  portal_deleted: 'The portal itself was deleted; nothing to do but remove it.',
};

/** Where the docs say more (served next to the page locally, `local/docs-routes.ts`). */
const STATUS_DOCS = { href: 'docs/OPERATIONS.md', label: 'docs/OPERATIONS.md §5' } as const;
const REFRESH_DOCS = { href: 'docs/REFRESH.md', label: 'docs/REFRESH.md §2' } as const;

/** What an operator does about a row, in the row (docs/OPERATIONS.md §5 says the same at length). */
function remedy(
  r: PortalStatusRow,
): { readonly text: string; readonly docs: { href: string; label: string } } | undefined {
  const openTheApp = `Have a user of ${r.domain} open the app in Bitrix24: the app page stores the fresh tokens Bitrix24 hands it as a new chain, and the status turns active. Or send them the start link (/oauth/start?portal=${r.domain} on the service's API), or reinstall the app.`;
  switch (r.status) {
    case 'reauth_required':
      return {
        text: `The refresh chain is dead; nothing the service can do brings it back. ${openTheApp}`,
        docs: STATUS_DOCS,
      };
    case 'no_tokens':
      return { text: `Installed, but no tokens are stored. ${openTheApp}`, docs: STATUS_DOCS };
    case 'invalid_client':
      return {
        text: 'Bitrix24 rejects our client id or secret: fix the credentials secret (a re-created local app has a new client id). The refresh token was not spent: the sweep retries every 15 minutes and the chain comes back by itself once the secret works. If our credentials work for other portals, the app was removed from this one and the row turns uninstalled.',
        docs: STATUS_DOCS,
      };
    case 'payment_required':
      return {
        text: "The portal's subscription (or the app's) ended. Talk to the customer; the sweep retries once a day and the status returns to active by itself once paid.",
        docs: STATUS_DOCS,
      };
    case 'degraded':
      return {
        text: 'Refreshes failed several times for transient reasons (5xx, timeouts); the old tokens are kept and retried with back-off. Usually nothing to do; if it lasts, check the last failure and the outbound network.',
        docs: REFRESH_DOCS,
      };
    case 'uninstalled':
      return {
        text: 'The app was removed from this portal; nothing to do unless it is installed again.',
        docs: STATUS_DOCS,
      };
    case 'portal_deleted':
      return {
        text: 'The portal itself was deleted (PORTAL_DELETED): nothing will work again; remove it with npm run ops -- uninstall.',
        docs: STATUS_DOCS,
      };
    case 'active':
      return undefined;
  }
}

/** Under each row: what to do about it (unless all is well) and its chain as a timeline. */
function detail(r: PortalStatusRow, now: number): string {
  const todo = remedy(r);
  const reason =
    r.lastFailure !== undefined && r.status !== 'active'
      ? ` Reason: ${r.lastFailure.category} (${r.lastFailure.code}): ${r.lastFailure.message}.`
      : '';
  const advice =
    todo === undefined
      ? ''
      : `<p class="remedy"><b>What to do:</b> ${escapeHtml(todo.text)}${escapeHtml(reason)} <a href="${todo.docs.href}">${escapeHtml(todo.docs.label)}</a></p>`;
  const timeline = r.userId === undefined ? '' : renderChainTimeline(r, now);
  if (advice === '' && timeline === '') return '';
  return `<tr class="detail" data-detail-for="${escapeHtml(r.memberId)}"><td></td><td colspan="8">${advice}${timeline}</td></tr>`;
}

const HEAD = `<meta http-equiv="refresh" content="15">
<style>body{max-width:none;margin:1.5rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e4e7ec;vertical-align:top}th{background:#f2f4f7}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}.counts a{display:block;padding:.3rem .7rem;border-radius:4px;border:1px solid #d0d5dd;color:inherit;text-decoration:none}
.counts b{font-size:1.1rem;margin-right:.3rem}.status{padding:0 .4rem;border-radius:3px;white-space:nowrap}
.s-active{background:#dcfae6}.s-degraded{background:#fef0c7}.s-reauth_required,.s-invalid_client{background:#fee4e2}
.s-payment_required{background:#fdead7}.s-no_tokens{background:#eaecf0}.s-uninstalled,.s-portal_deleted{background:#f2f4f7;color:#667085}
.late{color:#b42318;font-weight:600}.muted{color:#667085}.mono{font-family:ui-monospace,monospace;font-size:.8rem}
tr.detail td{border-bottom:1px solid #d0d5dd;padding-top:0}.remedy{margin:.2rem 0 .4rem;max-width:60rem}.timeline{display:block;max-width:100%;height:auto}
.legend{font-size:.8rem}.legend i{display:inline-block;width:.8rem;height:.6rem;margin:0 .2rem 0 .6rem;vertical-align:middle}</style>`;

function row(r: PortalStatusRow, now: number): string {
  const d = describeRow(r, now);
  // Past 80 % of the refresh window the chain is at risk: the sweep should have renewed it by then.
  const ageClass = d.refreshWindowUsed !== undefined && d.refreshWindowUsed >= 0.8 ? ' class="late"' : '';
  const accessClass = r.accessExpiresAt !== undefined && r.accessExpiresAt <= now ? ' class="muted"' : '';
  return `<tr class="row" data-member-id="${escapeHtml(r.memberId)}" data-status="${r.status}">
<td>${escapeHtml(r.domain)}</td><td class="mono">${escapeHtml(r.memberId)}</td><td>${r.userId ?? '—'}</td>
<td><span class="status s-${r.status}" title="${escapeHtml(STATUS_HINTS[r.status])}">${r.status}</span></td>
<td${accessClass}>${escapeHtml(d.accessExpiresIn)}</td><td${ageClass}>${escapeHtml(d.refreshAge)}</td>
<td>${escapeHtml(d.nextRefresh)}</td><td>${escapeHtml(d.lastRefresh)}</td><td>${escapeHtml(d.lastFailure)}</td></tr>
${detail(r, now)}`;
}

/**
 * The status page: counts per status at the top (each a filter link), then one row per token set
 * (or per portal without any), most urgent first, each followed by what to do about it and its chain
 * as a timeline (`chain-timeline.ts`). Reloads itself every 15 s. Shows no token.
 *
 * @example
 * return renderStatusPage(await collectPortalStatus(deps));
 */
export function renderStatusPage(
  report: PortalStatusReport,
  filter?: readonly PortalRowStatus[],
): APIGatewayProxyStructuredResultV2 {
  const now = report.generatedAt;
  const counts = ROW_STATUSES.map(
    (status) =>
      `<li><a class="s-${status}" href="?status=${status}" title="${escapeHtml(STATUS_HINTS[status])}"><b>${report.counts[status]}</b>${status}</a></li>`,
  ).join('');
  const rows = report.rows.map((r) => row(r, now)).join('\n');
  const empty =
    report.rows.length === 0
      ? `<p class="muted">${report.portals === 0 ? 'No portal has installed the app yet.' : 'No row matches this filter.'}</p>`
      : '';
  const filtered = filter === undefined ? '' : ` · showing ${escapeHtml(filter.join(', '))} · <a href="?">show all</a>`;
  const body = `<h1>Portals</h1>
<p class="muted">${report.portals} portal${report.portals === 1 ? '' : 's'} · as of ${new Date(now).toISOString()}${filtered} · <a href="status.json">JSON</a></p>
<ul class="counts">${counts}</ul>
<p class="legend muted">Timelines:<i style="background:#32d583"></i>access tokens valid<i style="background:#054f31;width:2px"></i>last refresh
<i style="background:#1570ef;width:2px"></i>new chain (install, app opened, authorization)<i style="background:#fff;border:2px solid #d92d20;border-radius:50%;width:.5rem;height:.5rem"></i>failed refresh
<i style="background:#d1e9ff;border:1px solid #53b1fd"></i>refresh-token window<i style="background:#12b76a"></i>status over time · hover for details ·
statuses and what to do: <a href="${STATUS_DOCS.href}">${STATUS_DOCS.label}</a></p>
<table id="portals"><thead><tr><th>Portal</th><th>member_id</th><th>User</th><th>Status</th><th>Access token</th>
<th>Refresh token age</th><th>Next refresh</th><th>Last refresh</th><th>Last failure</th></tr></thead>
<tbody>
${rows}
</tbody></table>${empty}`;
  return htmlPage({ title: 'Portals · bitrix24-token-service', bodyHtml: body, headHtml: HEAD });
}

/** `?status=a,b` → the statuses it names (unknown names are refused with a 400 by the caller). */
function statusFilter(event: APIGatewayProxyEventV2): readonly PortalRowStatus[] | 'invalid' | undefined {
  const raw = event.queryStringParameters?.status;
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.split(',').map((name) => name.trim());
  return names.every(isRowStatus) ? names : 'invalid';
}

/**
 * The two routes of the status page, `GET /status` (HTML) and `GET /status.json`, shaped as API
 * Gateway handlers so the local server serves them like the functions. Local only: see
 * docs/OPERATIONS.md for why the deployed stack has no such route.
 *
 * @example
 * const page = statusPageHandlers((statuses) => collectPortalStatus(deps, { statuses }));
 * await startLambdaHttpServer({ 'GET /status': page.html, 'GET /status.json': page.json });
 */
export function statusPageHandlers(load: LoadPortalStatus): {
  readonly html: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  readonly json: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
} {
  const refused = () =>
    json(400, { error: 'validation', message: `status must be one or more of ${ROW_STATUSES.join(', ')}` });
  return {
    html: async (event) => {
      const filter = statusFilter(event);
      if (filter === 'invalid') return refused();
      return renderStatusPage(await load(filter), filter);
    },
    json: async (event) => {
      const filter = statusFilter(event);
      if (filter === 'invalid') return refused();
      return json(200, await load(filter));
    },
  };
}
