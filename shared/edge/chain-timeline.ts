import { DAY, type EpochMs, HOUR } from '#shared/core/domain/time.js';
import { entryStart, type History, type HistoryEntry } from '#shared/core/domain/token-history.js';
import { REFRESHABLE_STATUSES } from '#shared/core/domain/token-set.js';
import { formatDuration, type PortalRowStatus, type PortalStatusRow } from '#shared/core/use-cases/portal-status.js';
import { escapeHtml } from './responses.js';

/**
 * One token set's chain as a picture, drawn on the server as inline SVG (no script, no CDN, nothing
 * fetched): access-token lifetimes, chain starts, refreshes, failures, the refresh token's window and
 * the status over time, up to now and the current token's end.
 *
 *     access token   ▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆▆         ▆▆          ✕
 *     refresh token  [────────── 30 d window ──────────]
 *     status         ███████████ active ████████████████████ reauth_required █
 *
 * Without a stored history (items written before it existed) the picture is drawn from what the row
 * holds: the current access token, the last refresh and the last failure.
 */

/** Drawing size, in SVG user units (CSS pixels at 100 %). */
const WIDTH = 680;
const HEIGHT = 74;
/** Left column with the lane labels; the plot runs from here to the right edge. */
const PLOT_LEFT = 96;
const PLOT_RIGHT = WIDTH - 12;
const LANES = { access: { y: 6, h: 14 }, refresh: { y: 26, h: 10 }, status: { y: 42, h: 8 } } as const;
const AXIS_Y = 66;
/** The shortest and the longest stretch of time drawn. */
const MIN_SPAN = 2 * HOUR;
const MAX_SPAN = 40 * DAY;

/** Status colours, the same as the status page's badges. */
const STATUS_COLOURS: Readonly<Record<PortalRowStatus, string>> = {
  active: '#12b76a',
  degraded: '#f79009',
  reauth_required: '#d92d20',
  invalid_client: '#d92d20',
  payment_required: '#ef6820',
  no_tokens: '#98a2b3',
  uninstalled: '#98a2b3',
  portal_deleted: '#98a2b3',
};

/** What the picture needs from a status row. */
export type TimelineRow = Pick<
  PortalStatusRow,
  | 'status'
  | 'history'
  | 'accessExpiresAt'
  | 'refreshIssuedAt'
  | 'refreshExpiresAt'
  | 'nextRefreshAt'
  | 'lastRefreshAt'
  | 'lastFailure'
  | 'consecutiveFailures'
  | 'source'
>;

/** `2026-03-01 14:02 UTC`. */
function when(at: EpochMs): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The history, or what the stored fields say when there is none. */
function entriesOf(row: TimelineRow): History {
  if (row.history !== undefined && row.history.length > 0) return row.history;
  const entries: HistoryEntry[] = [];
  if (row.accessExpiresAt !== undefined) {
    const from = Math.max(row.refreshIssuedAt ?? row.accessExpiresAt - HOUR, row.accessExpiresAt - HOUR);
    const refreshed = row.lastRefreshAt !== undefined;
    entries.push({
      kind: 'access',
      from,
      until: row.accessExpiresAt,
      refreshes: refreshed ? 1 : 0,
      ...(refreshed ? { lastAt: row.lastRefreshAt } : {}),
    });
  }
  const failure = row.lastFailure;
  if (failure !== undefined && row.status !== 'no_tokens' && row.status !== 'uninstalled') {
    entries.push({
      kind: 'failure',
      from: failure.at,
      to: failure.at,
      count: Math.max(1, row.consecutiveFailures),
      category: failure.category,
      code: failure.code,
      status: row.status,
    });
  }
  return entries;
}

/** A stretch of the axis: linear, or a long quiet stretch drawn narrow (a break). */
interface Segment {
  readonly from: EpochMs;
  readonly to: EpochMs;
  readonly x0: number;
  readonly x1: number;
  readonly broken: boolean;
}

interface Scale {
  readonly start: EpochMs;
  readonly end: EpochMs;
  readonly segments: readonly Segment[];
  x(at: EpochMs): number;
}

/** Width of a break: a long stretch in which nothing happened. */
const BREAK_WIDTH = 110;

/** Every instant at which something starts or ends: the axis keeps room around these. */
function instantsOf(row: TimelineRow, entries: History, now: EpochMs): EpochMs[] {
  const instants = [now, row.refreshIssuedAt, row.accessExpiresAt, row.nextRefreshAt, row.lastRefreshAt];
  for (const entry of entries) {
    if (entry.kind === 'chain') instants.push(entry.at);
    else if (entry.kind === 'access') instants.push(entry.from, entry.until, entry.lastAt);
    else instants.push(entry.from, entry.to);
  }
  return instants.filter((at): at is number => at !== undefined);
}

/**
 * The time axis: from the oldest event (at most `MAX_SPAN` back) to a little after now, including the
 * current token's remaining life. Stretches in which nothing starts or ends and that would take more
 * than a quarter of the width are drawn as narrow breaks, so the hours around a month-long silence
 * stay readable.
 */
function scaleFor(row: TimelineRow, entries: History, now: EpochMs): Scale {
  const starts = [...entries.map(entryStart), row.refreshIssuedAt ?? now, now];
  // The current token's remaining life and the next refresh belong in the picture, up to an hour ahead.
  const ahead = [row.accessExpiresAt, row.nextRefreshAt]
    .filter((at): at is number => at !== undefined && at > now)
    .map((at) => Math.min(at, now + HOUR));
  const end = Math.max(now, ...ahead) + 5 * 60_000;
  const start = Math.min(Math.max(Math.min(...starts), end - MAX_SPAN), end - MIN_SPAN);
  const instants = [
    ...new Set([start, end, ...instantsOf(row, entries, now).filter((at) => at > start && at < end)]),
  ].sort((a, b) => a - b);
  const quiet = Math.max(6 * HOUR, (end - start) / 4);
  const pieces = instants.slice(1).map((to, index) => {
    const from = instants[index] ?? start;
    return { from, to, broken: to - from > quiet };
  });
  const linear = pieces.filter((piece) => !piece.broken).reduce((sum, piece) => sum + (piece.to - piece.from), 0);
  const breaks = linear === 0 ? 0 : pieces.filter((piece) => piece.broken).length;
  const room = PLOT_RIGHT - PLOT_LEFT - breaks * BREAK_WIDTH;
  let cursor = PLOT_LEFT;
  const segments = pieces.map((piece) => {
    const broken = piece.broken && breaks > 0;
    const width = broken ? BREAK_WIDTH : ((piece.to - piece.from) / (linear === 0 ? end - start : linear)) * room;
    const segment = { ...piece, broken, x0: cursor, x1: cursor + width };
    cursor += width;
    return segment;
  });
  return {
    start,
    end,
    segments,
    x: (at) => {
      const clamped = Math.min(end, Math.max(start, at));
      const segment = segments.find((candidate) => clamped <= candidate.to) ?? segments.at(-1);
      if (segment === undefined) return PLOT_LEFT;
      const share = segment.to === segment.from ? 0 : (clamped - segment.from) / (segment.to - segment.from);
      return Math.round((segment.x0 + share * (segment.x1 - segment.x0)) * 10) / 10;
    },
  };
}

/** A rectangle at least `min` wide, so a one-hour token stays visible on a month's axis. */
function bar(scale: Scale, from: EpochMs, to: EpochMs, lane: { y: number; h: number }, min = 2) {
  const x = scale.x(from);
  const width = Math.max(min, scale.x(to) - x);
  return { x, y: lane.y, width: Math.round(width * 10) / 10, height: lane.h };
}

function accessRuns(scale: Scale, entries: History): string {
  return entries
    .filter((entry): entry is Extract<HistoryEntry, { kind: 'access' }> => entry.kind === 'access')
    .map((run) => {
      const r = bar(scale, run.from, run.until, LANES.access);
      const refreshes =
        run.refreshes === 0 ? 'no refresh' : `${run.refreshes} refresh${run.refreshes === 1 ? '' : 'es'}`;
      const title = `Access tokens valid from ${when(run.from)} to ${when(run.until)} (${refreshes}${run.lastAt === undefined ? '' : `, the last ${when(run.lastAt)}`})`;
      const tick =
        run.lastAt === undefined
          ? ''
          : `<line class="refresh" x1="${scale.x(run.lastAt)}" x2="${scale.x(run.lastAt)}" y1="${LANES.access.y - 2}" y2="${LANES.access.y + LANES.access.h + 2}" stroke="#054f31" stroke-width="2"/>`;
      return `<g class="access"><title>${escapeHtml(title)}</title><rect x="${r.x}" y="${r.y}" width="${r.width}" height="${r.height}" rx="2" fill="#32d583"/>${tick}</g>`;
    })
    .join('');
}

/**
 * The breaks of the axis, each named by how long it lasted and whether valid access tokens covered it
 * ("31 d without a refresh": a chain left alone longer than its refresh token lives).
 */
function breaks(scale: Scale, entries: History): string {
  const runs = entries.filter((entry): entry is Extract<HistoryEntry, { kind: 'access' }> => entry.kind === 'access');
  return scale.segments
    .filter((segment) => segment.broken)
    .map((segment) => {
      const covered = runs.some((run) => run.from <= segment.from && run.until >= segment.to);
      const label = `${formatDuration(segment.to - segment.from)}${covered ? '' : ' without a refresh'}`;
      const mid = Math.round((segment.x0 + segment.x1) / 2);
      const top = LANES.access.y - 2;
      const bottom = LANES.status.y + LANES.status.h + 2;
      return (
        `<g class="break"><title>${escapeHtml(`${label}: ${when(segment.from)} to ${when(segment.to)} (drawn shorter)`)}</title>` +
        `<path d="M${mid - 5} ${bottom} L${mid - 1} ${top} M${mid + 1} ${bottom} L${mid + 5} ${top}" stroke="#98a2b3" stroke-width="1.5" fill="none"/>` +
        `<text class="gap" x="${mid}" y="${AXIS_Y}" font-size="10" fill="#667085" text-anchor="middle">${escapeHtml(label)}</text></g>`
      );
    })
    .join('');
}

function chainStarts(scale: Scale, entries: History): string {
  return entries
    .filter((entry): entry is Extract<HistoryEntry, { kind: 'chain' }> => entry.kind === 'chain')
    .map((chain) => {
      const x = scale.x(chain.at);
      const title = `New chain from ${chain.source.replaceAll('_', ' ')} at ${when(chain.at)}`;
      return `<g class="chain"><title>${escapeHtml(title)}</title><line x1="${x}" x2="${x}" y1="2" y2="${LANES.refresh.y + LANES.refresh.h}" stroke="#1570ef" stroke-width="2"/><path d="M${x - 4} 2 L${x + 4} 2 L${x} 8 Z" fill="#1570ef"/></g>`;
    })
    .join('');
}

function failures(scale: Scale, entries: History): string {
  return entries
    .filter((entry): entry is Extract<HistoryEntry, { kind: 'failure' }> => entry.kind === 'failure')
    .map((failure) => {
      const x = scale.x(failure.to);
      const y = LANES.access.y + LANES.access.h / 2;
      const dead = !REFRESHABLE_STATUSES.has(failure.status);
      const colour = dead ? STATUS_COLOURS[failure.status] : STATUS_COLOURS.degraded;
      const times = failure.count === 1 ? when(failure.to) : `${when(failure.from)} to ${when(failure.to)}`;
      const title = `${failure.count === 1 ? 'Refresh failed' : `${failure.count} refreshes failed`}: ${failure.category} (${failure.code}), ${times}; status then ${failure.status}`;
      const count =
        failure.count > 1
          ? `<text x="${x + 7}" y="${y + 4}" font-size="10" fill="${colour}">×${failure.count}</text>`
          : '';
      return `<g class="failure"><title>${escapeHtml(title)}</title><circle cx="${x}" cy="${y}" r="6" fill="#fff" stroke="${colour}" stroke-width="2"/><path d="M${x - 3} ${y - 3} L${x + 3} ${y + 3} M${x + 3} ${y - 3} L${x - 3} ${y + 3}" stroke="${colour}" stroke-width="2"/>${count}</g>`;
    })
    .join('');
}

function refreshWindow(scale: Scale, row: TimelineRow, now: EpochMs): string {
  if (row.refreshIssuedAt === undefined || row.refreshExpiresAt === undefined) return '';
  const r = bar(scale, row.refreshIssuedAt, row.refreshExpiresAt, LANES.refresh);
  const over = row.refreshExpiresAt <= now ? ' (over)' : '';
  const title = `Refresh token issued ${when(row.refreshIssuedAt)}, usable until ${when(row.refreshExpiresAt)}${over}`;
  return `<g class="refresh-window"><title>${escapeHtml(title)}</title><rect x="${r.x}" y="${r.y}" width="${r.width}" height="${r.height}" rx="2" fill="#d1e9ff" stroke="#53b1fd"/></g>`;
}

/** The status over time: active from each chain or refresh, a failure's status from the failure on. */
function statusBand(scale: Scale, entries: History, current: PortalRowStatus, now: EpochMs): string {
  const changes: { at: EpochMs; status: PortalRowStatus }[] = [];
  for (const entry of entries) {
    if (entry.kind === 'chain') changes.push({ at: entry.at, status: 'active' });
    else if (entry.kind === 'access' && entry.refreshes > 0)
      changes.push({ at: entry.lastAt ?? entry.from, status: 'active' });
    else if (entry.kind === 'failure') changes.push({ at: entry.from, status: entry.status });
  }
  changes.sort((a, b) => a.at - b.at);
  changes.push({ at: now, status: current });
  // One segment per status run: a refresh of an active chain changes nothing to draw.
  const runs = changes.filter((change, index) => index === 0 || changes[index - 1]?.status !== change.status);
  const segments: string[] = [];
  for (const [index, change] of runs.entries()) {
    const to = runs[index + 1]?.at ?? scale.end;
    if (to < scale.start || to <= change.at) continue;
    const r = bar(scale, change.at, to, LANES.status);
    const title = `${change.status} from ${when(change.at)}${index + 1 < runs.length ? ` to ${when(to)}` : ''}`;
    segments.push(
      `<rect class="status-${change.status}" x="${r.x}" y="${r.y}" width="${r.width}" height="${r.height}" fill="${STATUS_COLOURS[change.status]}"><title>${escapeHtml(title)}</title></rect>`,
    );
  }
  return `<g class="status">${segments.join('')}</g>`;
}

function nextRefresh(scale: Scale, row: TimelineRow, now: EpochMs): string {
  const at = row.nextRefreshAt;
  if (at === undefined || at > scale.end || row.status === 'no_tokens' || !REFRESHABLE_STATUSES.has(row.status)) {
    return '';
  }
  const x = scale.x(at);
  const title = at <= now ? 'Due for refresh now' : `Next refresh in ${formatDuration(at - now)} (${when(at)})`;
  return `<g class="next-refresh"><title>${escapeHtml(title)}</title><path d="M${x - 4} ${LANES.access.y + LANES.access.h + 2} L${x + 4} ${LANES.access.y + LANES.access.h + 2} L${x} ${LANES.access.y + LANES.access.h - 4} Z" fill="#344054"/></g>`;
}

function axis(scale: Scale, now: EpochMs): string {
  const nowX = scale.x(now);
  const span = formatDuration(now - scale.start);
  const labels = [
    `<text x="${PLOT_LEFT}" y="${AXIS_Y}" font-size="10" fill="#667085">${escapeHtml(`${span} ago`)}</text>`,
    `<text x="${nowX}" y="${AXIS_Y}" font-size="10" fill="#344054" text-anchor="middle">now</text>`,
  ];
  return (
    `<line class="now" x1="${nowX}" x2="${nowX}" y1="2" y2="${LANES.status.y + LANES.status.h + 2}" stroke="#344054" stroke-dasharray="3 2"/>` +
    labels.join('')
  );
}

function laneLabels(): string {
  const label = (text: string, lane: { y: number; h: number }) =>
    `<text x="0" y="${lane.y + lane.h - 2}" font-size="10" fill="#667085">${text}</text>`;
  return label('access token', LANES.access) + label('refresh token', LANES.refresh) + label('status', LANES.status);
}

/** One sentence a screen reader (and a test) can use: what the picture shows. */
function summary(entries: History, row: TimelineRow): string {
  const chains = entries.filter((entry) => entry.kind === 'chain').length;
  const refreshes = entries.reduce((n, entry) => n + (entry.kind === 'access' ? entry.refreshes : 0), 0);
  const failed = entries.reduce((n, entry) => n + (entry.kind === 'failure' ? entry.count : 0), 0);
  const parts = [
    `${chains} chain start${chains === 1 ? '' : 's'}`,
    `${refreshes} refresh${refreshes === 1 ? '' : 'es'}`,
    `${failed} failure${failed === 1 ? '' : 's'}`,
  ];
  return `Token chain timeline: ${parts.join(', ')}; now ${row.status}`;
}

/**
 * The SVG of one token set's chain, relative to `now` (the report's time).
 *
 * @example
 * const svg = renderChainTimeline(row, report.generatedAt); // inline it in the status page
 */
export function renderChainTimeline(row: TimelineRow, now: EpochMs): string {
  const entries = entriesOf(row);
  const scale = scaleFor(row, entries, now);
  const label = summary(entries, row);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(label)}">` +
    `<title>${escapeHtml(label)}</title>` +
    `<rect x="${PLOT_LEFT}" y="${LANES.access.y - 2}" width="${PLOT_RIGHT - PLOT_LEFT}" height="${LANES.status.y + LANES.status.h - LANES.access.y + 4}" fill="#f9fafb"/>` +
    laneLabels() +
    refreshWindow(scale, row, now) +
    accessRuns(scale, entries) +
    statusBand(scale, entries, row.status, now) +
    chainStarts(scale, entries) +
    failures(scale, entries) +
    breaks(scale, entries) +
    nextRefresh(scale, row, now) +
    axis(scale, now) +
    '</svg>'
  );
}
