import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  describeRow,
  isRowStatus,
  type PortalRowStatus,
  type PortalStatusReport,
  type PortalStatusRow,
  ROW_STATUSES,
} from '#shared/core/use-cases/portal-status.js';
import { escapeHtml, htmlPage, json } from './responses.js';

/** Reads the report (every status, or only the given ones). */
export type LoadPortalStatus = (statuses?: readonly PortalRowStatus[]) => Promise<PortalStatusReport>;

/** What each status asks of an operator, shown as the counter's tooltip (docs/OPERATIONS.md says more). */
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

const HEAD = `<meta http-equiv="refresh" content="15">
<style>body{max-width:none;margin:1.5rem}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e4e7ec;vertical-align:top}th{background:#f2f4f7}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}.counts a{display:block;padding:.3rem .7rem;border-radius:4px;border:1px solid #d0d5dd;color:inherit;text-decoration:none}
.counts b{font-size:1.1rem;margin-right:.3rem}.status{padding:0 .4rem;border-radius:3px;white-space:nowrap}
.s-active{background:#dcfae6}.s-degraded{background:#fef0c7}.s-reauth_required,.s-invalid_client{background:#fee4e2}
.s-payment_required{background:#fdead7}.s-no_tokens{background:#eaecf0}.s-uninstalled,.s-portal_deleted{background:#f2f4f7;color:#667085}
.late{color:#b42318;font-weight:600}.muted{color:#667085}.mono{font-family:ui-monospace,monospace;font-size:.8rem}</style>`;

function row(r: PortalStatusRow, now: number): string {
  const d = describeRow(r, now);
  // Past 80 % of the refresh window the chain is at risk: the sweep should have renewed it by then.
  const ageClass = d.refreshWindowUsed !== undefined && d.refreshWindowUsed >= 0.8 ? ' class="late"' : '';
  const accessClass = r.accessExpiresAt !== undefined && r.accessExpiresAt <= now ? ' class="muted"' : '';
  return `<tr data-member-id="${escapeHtml(r.memberId)}" data-status="${r.status}">
<td>${escapeHtml(r.domain)}</td><td class="mono">${escapeHtml(r.memberId)}</td><td>${r.userId ?? '—'}</td>
<td><span class="status s-${r.status}" title="${escapeHtml(STATUS_HINTS[r.status])}">${r.status}</span></td>
<td${accessClass}>${escapeHtml(d.accessExpiresIn)}</td><td${ageClass}>${escapeHtml(d.refreshAge)}</td>
<td>${escapeHtml(d.nextRefresh)}</td><td>${escapeHtml(d.lastRefresh)}</td><td>${escapeHtml(d.lastFailure)}</td></tr>`;
}

/**
 * The status page: counts per status at the top (each a filter link), then one row per token set
 * (or per portal without any), most urgent first. Reloads itself every 15 s. Shows no token.
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
