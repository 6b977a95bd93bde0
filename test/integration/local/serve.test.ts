import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServiceDescriptor } from '#local/service-descriptor.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import type { PortalStatusReport, PortalStatusRow } from '#shared/core/use-cases/portal-status.js';
import { type CliResult, runOps } from '#test/helpers/processes/ops-cli.js';
import { startReadyProcess } from '#test/helpers/processes/ready-process.js';
import {
  processesMentioning,
  removeDataDir,
  type ServeProcess,
  startServeProcess,
  waitUntilGone,
} from '#test/helpers/processes/serve-process.js';
import { until } from '#test/helpers/vitest/until.js';

let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServeProcess();
});
afterAll(async () => {
  await serve.stop();
  removeDataDir(serve);
});

async function statusJson(): Promise<PortalStatusReport> {
  const response = await fetch(`${serve.serviceUrl}/status.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as PortalStatusReport;
}

function ops(args: readonly string[]): Promise<CliResult> {
  return runOps([...args, '--data-dir', serve.dataDir]);
}

/**
 * Installs the app on the demo portal in the emulator (again, if it was): ONAPPINSTALL reaches our
 * handler, which parks it; returns once no parked claim is left (the table stream finished it).
 */
async function installDemo(): Promise<{ delivered: boolean; status: number }> {
  const demoRow = (report: PortalStatusReport) => report.rows.find((row) => row.domain === 'demo.bitrix24.com');
  const before = demoRow(await statusJson());
  const response = await fetch(`${serve.emulatorUrl}_emulator/portals/demo.bitrix24.com/install`, { method: 'POST' });
  const delivery = (await response.json()) as { delivered: boolean; status: number };
  // Each install stores a new chain: wait for it, so no claim is still being finished when a test moves on.
  await until(statusJson, (report) => {
    const row = demoRow(report);
    return row?.status === 'active' && row.refreshIssuedAt !== before?.refreshIssuedAt;
  });
  return delivery;
}

/** Moves the emulator's clock; resolves with its new time. */
async function advanceEmulatorClock(ms: number): Promise<number> {
  const response = await fetch(`${serve.emulatorUrl}_emulator/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceMs: ms }),
  });
  return ((await response.json()) as { now: number }).now;
}

/** The demo portal's row once `condition` holds (the sweep runs by itself, within about a second). */
async function waitForRow(condition: (row: PortalStatusRow) => boolean): Promise<PortalStatusRow> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const row = (await statusJson()).rows[0];
    if (row !== undefined && condition(row)) return row;
    await sleep(200);
  }
  throw new Error(`the demo row never matched:\n${serve.output()}`);
}

/** Follows one redirect by hand (fetch would drop the cookie between the hops). */
async function redirectOf(url: string, cookie?: string): Promise<{ location: string; setCookie: string[] }> {
  const response = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
  expect(response.status).toBe(302);
  const location = response.headers.get('location');
  if (location === null) throw new Error(`no location from ${new URL(url).pathname}`);
  return { location, setCookie: response.headers.getSetCookie() };
}

describe('npm start (local/serve.ts as a child process)', () => {
  it('prints the URLs to open and what to try, and tells the CLI where it runs', () => {
    // Assess
    expect(serve.statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/status$/);
    expect(serve.emulatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(serve.authorizeUrl).toBe(`${serve.serviceUrl}/oauth/start?portal=demo.bitrix24.com`);
    expect(serve.output()).toContain('What to try:');
    expect(existsSync(join(serve.dataDir, 'endpoint.json'))).toBe(true);
    expect(existsSync(join(serve.dataDir, 'dynamodb'))).toBe(true);
  });

  it('serves the docs the status page and the emulator page link to', async () => {
    // Act
    const operations = await fetch(`${serve.serviceUrl}/docs/OPERATIONS.md`);
    const text = await operations.text();
    const emulatorPage = await (await fetch(serve.emulatorUrl)).text();

    // Assess
    expect(operations.status).toBe(200);
    expect(operations.headers.get('content-type')).toContain('text/plain');
    expect(text).toContain('## 5. Statuses and what to do');
    expect(emulatorPage).toContain(`href="${serve.serviceUrl}/status"`);
    expect(emulatorPage).toContain(`href="${serve.serviceUrl}/docs/OPERATIONS.md"`);
  });

  it('stores the demo portal’s tokens when the emulator installs the app (ONAPPINSTALL to our handler)', async () => {
    // Act
    const delivery = await installDemo();
    // Answered 202 at once; the claim is finished from the table stream a moment later.
    const report = await until(statusJson, (r) => r.counts.active === 1);

    // Assess
    expect(delivery).toMatchObject({ delivered: true, status: 202 });
    expect(report.counts.active).toBe(1);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({
      domain: 'demo.bitrix24.com',
      userId: 1,
      status: 'active',
      source: 'install_event',
    });
    // The install was verified by spending its refresh token: that refresh is the chain's last one.
    expect(report.rows[0]?.lastRefreshAt).toBeGreaterThan(0);
    expect(report.rows[0]?.history?.map((entry) => entry.kind)).toEqual(['chain', 'access']);
  });

  it('connects the demo portal through the OAuth code flow: start → portal consent → callback', async () => {
    // Prepare
    await installDemo();

    // Act
    const start = await redirectOf(serve.authorizeUrl);
    const cookie = start.setCookie.map((c) => c.split(';')[0]).join('; ');
    const consent = await redirectOf(start.location);
    const callback = await fetch(consent.location, { headers: { cookie } });
    const page = await callback.text();
    const report = await statusJson();

    // Assess
    expect(new URL(start.location).pathname).toBe('/h/demo.bitrix24.com/oauth/authorize/');
    expect(new URL(consent.location).pathname).toBe('/oauth/callback');
    expect(callback.status).toBe(200);
    expect(page).toContain('Your Bitrix24 is connected');
    expect(page).toContain('<strong>demo.bitrix24.com</strong>');
    expect(report.rows[0]).toMatchObject({ status: 'active', source: 'oauth_code' });
  });

  it('runs the sweep and forces a refresh from the CLI against the local store, printing no token', async () => {
    // Prepare
    await installDemo();
    const memberId = (await statusJson()).rows[0]?.memberId;
    if (memberId === undefined) throw new Error('no demo row');

    // Act
    const sweep = await ops(['sweep']);
    const refresh = await ops(['refresh', memberId]);
    const list = await ops(['list', '--json']);

    // Assess
    expect(sweep.code).toBe(0);
    expect(sweep.stdout).toMatch(/^due \d+, refreshed \d+, failed 0/);
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toMatch(/^user 1: refreshed \(version \d+ → \d+\), active/);
    const report = JSON.parse(list.stdout) as PortalStatusReport;
    expect(list.code).toBe(0);
    expect(report.rows[0]).toMatchObject({ memberId, status: 'active', source: 'refresh' });
    expect(report.rows[0]?.lastRefreshAt).toBeGreaterThan(0);
    expect(JSON.stringify(report)).not.toMatch(/accessToken|refreshToken/);
  });

  it('serves consumers through its local token vendor: the example consumer lists the demo portal’s leads', async () => {
    // Prepare
    await installDemo();
    const memberId = (await statusJson()).rows[0]?.memberId;
    if (memberId === undefined) throw new Error('no demo row');
    const { consumerEnv } = readServiceDescriptor(serve.dataDir);
    if (consumerEnv === undefined) throw new Error('no consumerEnv in the descriptor');

    // Act: functions/example-consumer.ts in its own process, with nothing but the descriptor's variables
    const consumer = await startReadyProcess<{ totals: number[]; leadCounts: number[] }>(
      'test/helpers/processes/consumer-process.ts',
      { ...consumerEnv, MEMBER_ID: memberId, INVOCATIONS: '3' },
    );
    consumer.child.stdin.write('go\n');
    const result = await consumer.result;

    // Assess
    expect(result.leadCounts).toEqual([50, 50, 50]);
    expect(Object.keys(consumerEnv)).toEqual(
      expect.arrayContaining(['BITRIX24_TOKEN_TABLE', 'BITRIX24_TOKEN_VENDOR', 'AWS_ENDPOINT_URL_LAMBDA']),
    );
  });

  it('runs on the emulator’s clock: “+1 hour” is refreshed by the sweep at once, “+31 days” ends in reauth_required', async () => {
    // Prepare
    await installDemo();
    const before = (await statusJson()).rows[0];

    // Act
    const hourLater = await advanceEmulatorClock(HOUR);
    const refreshed = await waitForRow((row) => (row.lastRefreshAt ?? 0) >= hourLater);
    const monthLater = await advanceEmulatorClock(31 * DAY);
    const dead = await waitForRow((row) => row.status === 'reauth_required');
    const report = await statusJson();
    const list = await ops(['list', '--json']);

    // Assess
    expect(before?.status).toBe('active');
    // The sweep ran on the emulator's time: the new access token lives an hour from the jump, not from now.
    expect(refreshed.accessExpiresAt).toBeGreaterThan(hourLater + 50 * MINUTE);
    expect(dead.lastFailure).toMatchObject({ category: 'invalid_grant', code: 'invalid_grant' });
    expect(dead.lastFailure?.at).toBeGreaterThanOrEqual(monthLater);
    expect(report.generatedAt).toBeGreaterThanOrEqual(monthLater);
    expect((JSON.parse(list.stdout) as PortalStatusReport).generatedAt).toBeGreaterThanOrEqual(monthLater);
    // Dispatched to the local queue, refreshed by the workers that consume it
    expect(serve.output()).toMatch(/\[dispatch-refreshes\] due 1, enqueued 1/);
    expect(serve.output()).toMatch(/\[refresh-worker\] refreshed 1/);
    expect(serve.output()).toMatch(/\[refresh-worker\] refreshed 0, failed 1 \(invalid_grant 1\)/);
  });

  it('prints one readable line per log entry and one line for a burst of refused requests', async () => {
    // Act
    const answers: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(`${serve.serviceUrl}/bitrix/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'event=ONAPPINSTALL&auth[member_id]=x',
      });
      answers.push(response.status);
    }
    // The child's output arrives through a pipe: give it a moment.
    for (let i = 0; i < 50 && !serve.output().includes('request refused'); i += 1) await sleep(100);
    const output = serve.output();

    // Assess
    expect(answers.every((status) => status >= 400 && status < 500)).toBe(true);
    expect(output.match(/request refused: 4\d\d POST \/bitrix\/events/g)).toHaveLength(1);
    expect(output.split('\n').filter((line) => line.trimStart().startsWith('{'))).toEqual([]);
    expect(output).not.toContain('No application metrics to publish');
  });

  it('stops as a whole when npm gets SIGTERM: npm, node and DynamoDB Local gone, exit code 0, descriptor and lock removed', async () => {
    // Prepare
    expect(processesMentioning(serve.dataDir).length).toBeGreaterThan(0);
    expect(serve.tree.length).toBeGreaterThanOrEqual(3);

    // Act
    const code = await serve.stop('SIGTERM');
    const left = await waitUntilGone(serve.tree, 20_000);

    // Assess
    expect(code).toBe(0);
    expect(serve.output()).toContain('SIGTERM: stopping');
    // The rest of the burst above, counted when the service stops.
    expect(serve.output()).toMatch(/4 more requests refused: 4× 4\d\d POST \/bitrix\/events/);
    expect(left).toEqual([]);
    expect(processesMentioning(serve.dataDir)).toEqual([]);
    expect(existsSync(join(serve.dataDir, 'endpoint.json'))).toBe(false);
    expect(existsSync(join(serve.dataDir, 'serve.lock'))).toBe(false);
  });
});
