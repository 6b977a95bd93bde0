import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '#test/helpers/processes/browser.js';
import {
  processesMentioning,
  removeDataDir,
  type ServeProcess,
  startServeProcess,
} from '#test/helpers/processes/serve-process.js';
import { until } from '#test/helpers/vitest/until.js';

let serve: ServeProcess;
let browser: Browser;

beforeAll(async () => {
  serve = await startServeProcess();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  if (serve !== undefined) removeDataDir(serve);
});

describe('status page of npm start, in Chromium', () => {
  it('shows the demo portal as active after a person clicks "Install" on the emulator page', async () => {
    // Prepare
    const page = await browser.newPage();

    // Act
    await page.goto(serve.emulatorUrl);
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await page.waitForURL(/message=/);
    const installMessage = await page.locator('p', { hasText: 'installed on demo.bitrix24.com' }).textContent();
    // The event was answered 202 and parked; the table stream finishes it a moment later.
    const row = page.locator('#portals tbody tr', { hasText: 'demo.bitrix24.com' });
    await until(
      async () => {
        await page.goto(serve.statusUrl);
        return (await row.count()) === 0 ? '' : await row.locator('.status').textContent();
      },
      (shown) => shown === 'active',
    );
    const status = await row.locator('.status').textContent();
    const cells = await row.locator('td').allTextContents();
    const activeCounter = await page.locator('.counts a.s-active b').textContent();
    const html = await page.content();
    await page.close();

    // Assess
    expect(installMessage).toContain('HTTP 202');
    expect(status).toBe('active');
    expect(activeCounter).toBe('1');
    expect(cells[2]).toBe('1');
    expect(cells[4]).toMatch(/^in \d+ min$/);
    expect(cells[5]).toMatch(/^\d+ (s|min) of 30 d$/);
    expect(cells[7]).toMatch(/^\d+ s ago$/);
    expect(html).not.toMatch(/access_?token|refresh_?token/i);
  });

  it('filters by status from the counters', async () => {
    // Prepare
    const page = await browser.newPage();
    await page.goto(serve.statusUrl);

    // Act
    await page.locator('.counts a.s-reauth_required').click();
    await page.waitForURL(/\?status=reauth_required$/);
    const rows = await page.locator('#portals tbody tr').count();
    const note = await page.locator('p.muted').allTextContents();
    await page.close();

    // Assess
    expect(rows).toBe(0);
    expect(note.join(' ')).toContain('showing reauth_required');
  });

  it('leaves nothing running after SIGTERM', async () => {
    // Act
    const code = await serve.stop();

    // Assess
    expect(code).toBe(0);
    expect(processesMentioning(serve.dataDir)).toEqual([]);
  });
});
