/**
 * Makes the README's picture of the status page (docs/images/status-page.png) from a real local run:
 * `npm start` against the emulator on a fresh data folder, driven through the emulator's control API
 * (install, the clock, payment), then Debian's Chromium takes the screenshot. Nothing leaves the machine.
 *
 *     node --import tsx scripts/status-page-screenshot.ts [output.png]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const output = resolve(process.argv[2] ?? 'docs/images/status-page.png');
const dataDir = mkdtempSync(join(tmpdir(), 'status-page-screenshot-'));
const HOUR = 3_600_000;

const serve = spawn(process.execPath, ['--import', 'tsx', 'local/serve.ts'], {
  env: { ...process.env, PORT: '0', EMULATOR_PORT: '0', LOCAL_DATA_DIR: dataDir, SWEEP_INTERVAL_SECONDS: '600' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let banner = '';
serve.stdout.on('data', (chunk: Buffer) => {
  banner += chunk.toString();
});

try {
  while (!banner.includes('Ctrl-C stops everything.')) {
    if (serve.exitCode !== null) throw new Error(`npm start ended:\n${banner}`);
    await sleep(200);
  }
  const statusUrl = /status page\s+(\S+)/.exec(banner)?.[1] ?? '';
  const emulator = /Bitrix24 emulator\s+(\S+)/.exec(banner)?.[1] ?? '';

  const control = async (path: string, body: Record<string, unknown> = {}) => {
    const response = await fetch(`${emulator}_emulator/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  };
  const rows = async () =>
    (
      (await (await fetch(`${statusUrl}.json`)).json()) as {
        rows: { domain: string; status: string; lastRefreshAt?: number }[];
      }
    ).rows;
  const until = async (what: string, condition: (r: Awaited<ReturnType<typeof rows>>) => boolean) => {
    for (let i = 0; i < 150; i += 1) {
      if (condition(await rows())) return;
      await sleep(200);
    }
    throw new Error(`never happened: ${what}`);
  };
  const row = (r: Awaited<ReturnType<typeof rows>>, domain: string) => r.find((x) => x.domain === domain);

  // The demo portal and an eastern one: installed, refreshed once, then left alone for a month. The
  // demo portal is brought back by opening the app; the other one waits for a person.
  await control('portals', { domain: 'archive.bitrix24.ru', region: 'east' });
  for (const domain of ['demo.bitrix24.com', 'archive.bitrix24.ru']) await control(`portals/${domain}/install`);
  await control('portals/demo.bitrix24.com/open');
  await control('clock', { advanceMs: HOUR });
  await until('both refreshed', (r) => r.every((x) => x.lastRefreshAt !== undefined) && r.length === 2);
  await control('clock', { advanceMs: 31 * 24 * HOUR });
  await until('both dead', (r) => r.every((x) => x.status === 'reauth_required'));
  await control('portals/demo.bitrix24.com/open');
  // Two more portals: one healthy, one whose subscription runs out.
  for (const domain of ['shop.bitrix24.de', 'unpaid.bitrix24.com']) {
    await control('portals', { domain, region: 'west' });
    await control(`portals/${domain}/install`);
  }
  await control('portals/unpaid.bitrix24.com/payment', { state: 'expired' });
  await control('clock', { advanceMs: HOUR });
  await until('the sweep after the last hour', (r) => row(r, 'unpaid.bitrix24.com')?.status === 'payment_required');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(statusUrl);
  mkdirSync(dirname(output), { recursive: true });
  await page.screenshot({ path: output, fullPage: true });
  await browser.close();
  process.stdout.write(`${output}\n`);
} finally {
  serve.kill('SIGTERM');
  await new Promise((resolveExit) => serve.once('exit', resolveExit));
  rmSync(dataDir, { recursive: true, force: true });
}
