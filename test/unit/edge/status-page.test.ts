import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import type { PortalRowStatus, PortalStatusReport } from '#shared/core/use-cases/portal-status.js';
import { renderStatusPage, statusPageHandlers } from '#shared/edge/status-page.js';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);

function report(overrides: Partial<PortalStatusReport> = {}): PortalStatusReport {
  return {
    generatedAt: NOW,
    portals: 2,
    counts: {
      reauth_required: 1,
      invalid_client: 0,
      payment_required: 0,
      degraded: 0,
      no_tokens: 0,
      active: 1,
      uninstalled: 0,
      portal_deleted: 0,
    },
    rows: [
      {
        memberId: 'm-dead',
        domain: '<b>evil</b>.bitrix24.com',
        userId: 3,
        status: 'reauth_required',
        accessExpiresAt: NOW - HOUR,
        refreshIssuedAt: NOW - 29 * DAY,
        refreshExpiresAt: NOW + DAY,
        consecutiveFailures: 1,
        lastFailure: { category: 'invalid_grant', code: 'invalid_grant', message: 'chain <ended>', at: NOW - HOUR },
      },
      {
        memberId: 'm-ok',
        domain: 'ok.bitrix24.com',
        userId: 1,
        status: 'active',
        accessExpiresAt: NOW + 30 * 60_000,
        refreshIssuedAt: NOW - 12 * DAY,
        refreshExpiresAt: NOW + 18 * DAY,
        lastRefreshAt: NOW - 2 * HOUR,
        consecutiveFailures: 0,
      },
    ],
    ...overrides,
  };
}

function event(query?: Record<string, string>): APIGatewayProxyEventV2 {
  return { queryStringParameters: query } as unknown as APIGatewayProxyEventV2;
}

describe('renderStatusPage', () => {
  it('shows the counts per status and one row per token set with its times, escaping every value', () => {
    // Act
    const page = renderStatusPage(report());

    // Assess
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['Cache-Control']).toBe('no-store');
    const html = String(page.body);
    expect(html).toContain('<b>1</b>reauth_required');
    expect(html).toContain('<b>0</b>invalid_client');
    expect(html).toContain('&lt;b&gt;evil&lt;/b&gt;.bitrix24.com');
    expect(html).not.toContain('<b>evil</b>');
    expect(html).toContain('invalid_grant: chain &lt;ended&gt; (1 h ago)');
    expect(html).toContain('12 d of 30 d');
    expect(html).toContain('in 30 min');
    expect(html).toContain('expired 1 h ago');
    expect(html).toMatch(/<tr class="row" data-member-id="m-ok" data-status="active">/);
    // 29 of 30 days used: flagged
    expect(html).toContain('<td class="late">29 d of 30 d</td>');
  });

  it('says under each row what to do about its status, with the reason and where the docs say more', () => {
    // Act
    const html = String(renderStatusPage(report()).body);
    const dead = html.slice(html.indexOf('data-detail-for="m-dead"'));
    const deadDetail = dead.slice(0, dead.indexOf('</tr>'));
    const okDetail = html.slice(html.indexOf('data-detail-for="m-ok"')).split('</tr>')[0] ?? '';

    // Assess
    expect(deadDetail).toContain('<b>What to do:</b>');
    expect(deadDetail).toContain('open the app in Bitrix24');
    expect(deadDetail).toContain('Reason: invalid_grant (invalid_grant): chain &lt;ended&gt;.');
    expect(deadDetail).toContain('<a href="docs/OPERATIONS.md">docs/OPERATIONS.md §5</a>');
    expect(deadDetail).not.toContain('<b>evil</b>');
    expect(okDetail).not.toContain('What to do');
  });

  it('draws each token set’s chain as inline SVG, with nothing fetched from elsewhere', () => {
    // Act
    const html = String(renderStatusPage(report()).body);

    // Assess
    expect(html.match(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="timeline"/g)).toHaveLength(2);
    expect(html).toContain(
      'aria-label="Token chain timeline: 0 chain starts, 0 refreshes, 1 failure; now reauth_required"',
    );
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
  });

  it('says so when no portal has installed the app', () => {
    // Act
    const html = String(renderStatusPage(report({ portals: 0, rows: [] })).body);

    // Assess
    expect(html).toContain('No portal has installed the app yet.');
  });
});

describe('statusPageHandlers', () => {
  it('passes the ?status filter to the loader and answers JSON on the JSON route', async () => {
    // Prepare
    const asked: (readonly PortalRowStatus[] | undefined)[] = [];
    const handlers = statusPageHandlers(async (statuses) => {
      asked.push(statuses);
      return report();
    });

    // Act
    const html = await handlers.html(event({ status: 'reauth_required,degraded' }));
    const json = await handlers.json(event());

    // Assess
    expect(asked).toEqual([['reauth_required', 'degraded'], undefined]);
    expect(String(html.body)).toContain('showing reauth_required, degraded');
    expect(json.headers?.['Content-Type']).toBe('application/json');
    expect(JSON.parse(String(json.body)).rows).toHaveLength(2);
  });

  it('refuses an unknown status with a 400 that names the valid ones', async () => {
    // Prepare
    const handlers = statusPageHandlers(async () => report());

    // Act
    const response = await handlers.json(event({ status: 'bogus' }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(String(response.body)).toContain('reauth_required');
  });
});
