import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { type History, withChain, withFailure, withRefresh } from '#shared/core/domain/token-history.js';
import { renderChainTimeline, type TimelineRow } from '#shared/edge/chain-timeline.js';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

/** A chain installed at T0, refreshed an hour later, then nothing for a month: the demo's "+31 days". */
function monthWithoutSweeps(): { row: TimelineRow; now: number } {
  let history: History = withChain([], {
    at: T0,
    source: 'install_event',
    accessExpiresAt: T0 + HOUR,
    refreshed: true,
  });
  history = withRefresh(history, { at: T0 + HOUR, accessExpiresAt: T0 + 2 * HOUR });
  const failedAt = T0 + 31 * DAY + HOUR;
  history = withFailure(history, {
    at: failedAt,
    category: 'invalid_grant',
    code: 'invalid_grant',
    status: 'reauth_required',
  });
  return {
    row: {
      status: 'reauth_required',
      history,
      accessExpiresAt: T0 + 2 * HOUR,
      refreshIssuedAt: T0 + HOUR,
      refreshExpiresAt: T0 + HOUR + 30 * DAY,
      lastRefreshAt: T0 + HOUR,
      consecutiveFailures: 1,
      lastFailure: { category: 'invalid_grant', code: 'invalid_grant', message: 'expired', at: failedAt },
    },
    now: failedAt + MINUTE,
  };
}

function count(svg: string, pattern: RegExp): number {
  return svg.match(pattern)?.length ?? 0;
}

describe('renderChainTimeline', () => {
  it('draws chain starts, access-token runs, the refresh window, failures, the status over time and now', () => {
    // Prepare
    const { row, now } = monthWithoutSweeps();

    // Act
    const svg = renderChainTimeline(row, now);

    // Assess
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(count(svg, /<g class="chain">/g)).toBe(1);
    expect(count(svg, /<g class="access">/g)).toBe(1);
    expect(count(svg, /<g class="failure">/g)).toBe(1);
    expect(count(svg, /<g class="refresh-window">/g)).toBe(1);
    expect(svg).toContain(
      'Access tokens valid from 2026-03-01 09:00 UTC to 2026-03-01 11:00 UTC (2 refreshes, the last 2026-03-01 10:00 UTC)',
    );
    expect(svg).toContain('Refresh token issued 2026-03-01 10:00 UTC, usable until 2026-03-31 10:00 UTC (over)');
    expect(svg).toContain(
      'Refresh failed: invalid_grant (invalid_grant), 2026-04-01 10:00 UTC; status then reauth_required',
    );
    expect(count(svg, /<rect class="status-active"/g)).toBe(1);
    expect(count(svg, /<rect class="status-reauth_required"/g)).toBe(1);
    expect(svg).toContain('class="now"');
    expect(svg).toContain('>30 d without a refresh</text>');
    expect(svg).toContain(
      'aria-label="Token chain timeline: 1 chain start, 2 refreshes, 1 failure; now reauth_required"',
    );
  });

  it('puts every mark inside the drawing, oldest left, newest right', () => {
    // Prepare
    const { row, now } = monthWithoutSweeps();

    // Act
    const svg = renderChainTimeline(row, now);
    const xs = [...svg.matchAll(/ (?:x|x1|cx)="(-?[\d.]+)"/g)].map((match) => Number(match[1]));
    const chainX = Number(/<g class="chain">.*?x1="([\d.]+)"/.exec(svg)?.[1]);
    const failureX = Number(/<g class="failure">.*?cx="([\d.]+)"/.exec(svg)?.[1]);

    // Assess
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThanOrEqual(680);
    expect(chainX).toBeLessThan(failureX);
  });

  it('counts repeated failures in one mark and shows the next refresh of a live chain', () => {
    // Prepare
    let history: History = withChain([], {
      at: T0,
      source: 'oauth_code',
      accessExpiresAt: T0 + HOUR,
      refreshed: false,
    });
    for (let i = 1; i <= 4; i += 1) {
      history = withFailure(history, {
        at: T0 + i * 10 * MINUTE,
        category: 'transient',
        code: 'http_503',
        status: 'degraded',
      });
    }
    const row: TimelineRow = {
      status: 'degraded',
      history,
      accessExpiresAt: T0 + HOUR,
      refreshIssuedAt: T0,
      refreshExpiresAt: T0 + 30 * DAY,
      nextRefreshAt: T0 + 50 * MINUTE,
      consecutiveFailures: 4,
    };

    // Act
    const svg = renderChainTimeline(row, T0 + 41 * MINUTE);

    // Assess
    expect(count(svg, /<g class="failure">/g)).toBe(1);
    expect(svg).toContain('>×4</text>');
    expect(svg).toContain('4 refreshes failed: transient (http_503)');
    expect(svg).toContain('Next refresh in 9 min');
  });

  it('draws a token set stored before histories existed from its fields', () => {
    // Act
    const svg = renderChainTimeline(
      {
        status: 'active',
        accessExpiresAt: T0 + 30 * MINUTE,
        refreshIssuedAt: T0 - 30 * MINUTE,
        refreshExpiresAt: T0 + 30 * DAY,
        lastRefreshAt: T0 - 30 * MINUTE,
        consecutiveFailures: 0,
      },
      T0,
    );

    // Assess
    expect(count(svg, /<g class="access">/g)).toBe(1);
    expect(svg).toContain('(1 refresh, the last 2026-03-01 08:30 UTC)');
  });

  it('escapes what it writes, and holds no token', () => {
    // Prepare
    const history: History = [
      { kind: 'failure', from: T0, to: T0, count: 1, category: '<script>', code: '"x"&', status: 'active' },
    ];

    // Act
    const svg = renderChainTimeline({ status: 'active', history, consecutiveFailures: 1 }, T0);

    // Assess
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt; (&quot;x&quot;&amp;)');
  });
});
