import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortalStatusReport } from '#shared/core/use-cases/portal-status.js';
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

describe('the local demo in Chromium', () => {
  it('installs the app from the emulator page and opens it in the portal’s frame, which loads and calls BX24.js', async () => {
    // Prepare
    const page = await newPage();
    await page.goto(serve.emulatorUrl);

    // Act
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.waitForURL(/message=/);
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
    expect(report.rows[0]).toMatchObject({ domain: 'demo.bitrix24.com', status: 'active', source: 'install_page' });
    expect(consoleLines.filter((line) => /frame-ancestors|Refused to (frame|display)/i.test(line))).toEqual([]);
    expect(requested.filter((url) => !url.startsWith('http://127.0.0.1:'))).toEqual([]);
    await framePage.close();
    await page.close();
  });
});
