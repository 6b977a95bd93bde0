import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortalStatusReport, PortalStatusRow } from '#shared/core/use-cases/portal-status.js';
import { launchChromium, waitForChromium } from '#test/helpers/processes/browser.js';
import { removeDataDir, type ServeProcess, startServeProcess } from '#test/helpers/processes/serve-process.js';

/**
 * The demo a newcomer runs (README, docs/OPERATIONS.md §1): `npm start`, the emulator page in Chromium,
 * Install, Open app in browser, the clock buttons, and the status page after each step.
 */

let serve: ServeProcess;
let browser: Browser;
/** Every URL the browser asked for: nothing may leave the machine. */
const requested: string[] = [];
/** Console messages of every page (CSP refusals show up here). */
const consoleLines: string[] = [];

beforeAll(async () => {
  await waitForChromium();
  // Sweeps only when the test moves the clock: the timer follows the emulator's clock.
  serve = await startServeProcess({ env: { SWEEP_INTERVAL_SECONDS: '600' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (serve !== undefined) removeDataDir(serve);
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('request', (request) => requested.push(request.url()));
  page.on('console', (message) => consoleLines.push(message.text()));
  return page;
}

async function statusJson(): Promise<PortalStatusReport> {
  return (await (await fetch(`${serve.serviceUrl}/status.json`)).json()) as PortalStatusReport;
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

describe('the local demo in Chromium', () => {
  it('installs the app from the emulator page and opens it in the portal’s frame, which loads and calls BX24.js', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(serve.emulatorUrl);

    // Act
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.waitForURL(/message=/);
    // The install event was answered 202 and parked; the table stream finishes it a moment later.
    await waitForRow((r) => r.status === 'active' && r.source === 'install_event');
    const [framePage] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('link', { name: 'Open app in browser' }).click(),
    ]);
    framePage.on('request', (request) => requested.push(request.url()));
    framePage.on('console', (message) => consoleLines.push(message.text()));
    const app = framePage.frameLocator('iframe[name="app"]');
    const heading = await app.locator('h1').textContent();
    await framePage.locator('#bx24-log li', { hasText: "BX24.callMethod('app.info')" }).waitFor();
    const log = await framePage.locator('#bx24-log li').allTextContents();
    const report = await statusJson();

    // Assess
    expect(heading).toBe('Connected');
    expect(log[0]).toContain('BX24.init()');
    // The portal answered the app's call (the frame's token was renewed after the service spent the pair).
    expect(log).toContain("The app called BX24.callMethod('app.info').");
    expect(report.rows[0]).toMatchObject({ domain: 'demo.bitrix24.com', status: 'active', source: 'install_page' });
    expect(consoleLines.filter((line) => /frame-ancestors|Refused to (frame|display)/i.test(line))).toEqual([]);
    expect(requested.filter((url) => !url.startsWith('http://127.0.0.1:'))).toEqual([]);
    await framePage.close();
    await page.close();
  });

  it('refreshes at once when the emulator clock moves an hour: the service follows that clock', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(serve.emulatorUrl);
    const before = (await statusJson()).rows[0];

    // Act
    await page.getByRole('button', { name: '+1 hour' }).click();
    await page.waitForURL(/message=/);
    const row = await waitForRow((r) => (r.lastRefreshAt ?? 0) > (before?.lastRefreshAt ?? 0));
    await page.goto(serve.statusUrl);
    const cells = await page.locator('#portals tr.row').first().locator('td').allTextContents();
    const svg = page.locator('#portals svg.timeline').first();
    const access = await svg.locator('g.access title').allTextContents();
    await page.close();

    // Assess
    expect(row.status).toBe('active');
    expect(cells[4]).toMatch(/^in (5\d|60) min$/);
    expect(cells[7]).toMatch(/^\d+ s ago$/);
    expect(access.join(' ')).toMatch(/1 refresh/);
  });

  it('ends the chain in reauth_required after “+31 days” and says why and what to do', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(serve.emulatorUrl);

    // Act
    await page.getByRole('button', { name: '+31 days' }).click();
    await page.waitForURL(/message=/);
    await waitForRow((r) => r.status === 'reauth_required');
    await page.goto(serve.statusUrl);
    const status = await page.locator('#portals tr.row .status').first().textContent();
    const remedy = await page.locator('#portals tr.detail .remedy').first().textContent();
    const svg = page.locator('#portals svg.timeline').first();
    const failure = await svg.locator('g.failure title').textContent();
    const gap = await svg.locator('text.gap').textContent();
    await page.close();

    // Assess
    expect(status).toBe('reauth_required');
    expect(remedy).toContain('open the app in Bitrix24');
    expect(remedy).toContain('Reason: invalid_grant (invalid_grant)');
    expect(failure).toContain('status then reauth_required');
    expect(gap).toMatch(/^30 d without a refresh$/);
  });

  it('brings the portal back when a user opens the app again, as a real portal would', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(serve.emulatorUrl);

    // Act
    const [framePage] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('link', { name: 'Open app in browser' }).click(),
    ]);
    const heading = await framePage.frameLocator('iframe[name="app"]').locator('h1').textContent();
    const row = await waitForRow((r) => r.status === 'active');
    await page.goto(serve.statusUrl);
    const chains = await page.locator('#portals svg.timeline').first().locator('g.chain').count();
    const remedies = await page.locator('#portals .remedy').count();
    await framePage.close();
    await page.close();

    // Assess
    expect(heading).toBe('Connected');
    expect(row.source).toBe('install_page');
    // The install event, the first app open and this one.
    expect(chains).toBe(3);
    expect(remedies).toBe(0);
  });

  it('finishes an unfinished installation from the app page through the BX24.js stand-in', async () => {
    // Prepare: a reinstall whose installFinish has not happened yet (Bitrix24 says INSTALLED false).
    await fetch(`${serve.emulatorUrl}_emulator/portals/demo.bitrix24.com/install`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ installFinished: false }),
    });
    const page = await newPage();
    await page.goto(serve.emulatorUrl);
    const waiting = await page.locator('.portal .state').first().textContent();

    // Act
    const [framePage] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('link', { name: 'Open app in browser' }).click(),
    ]);
    await framePage.locator('body[data-install-finished="true"]').waitFor();
    const log = await framePage.locator('#bx24-log li').allTextContents();
    await page.reload();
    const finished = await page.locator('.portal .state').first().textContent();
    await framePage.close();
    await page.close();

    // Assess
    expect(waiting).toContain('waiting for the app to call BX24.installFinish()');
    expect(log.join('\n')).toContain("BX24.callMethod('app.info')");
    expect(log.join('\n')).toContain('BX24.installFinish(): the installation is finished');
    expect(finished).toBe('installed');
    expect(requested.filter((url) => !url.startsWith('http://127.0.0.1:'))).toEqual([]);
  });
});
