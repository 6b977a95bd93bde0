import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (apt), never a downloaded browser; `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The package may still be installing on a fresh machine: wait for the binary, within the hook's time. */
export async function waitForChromium(): Promise<void> {
  for (let i = 0; i < 50 && !existsSync(CHROMIUM_PATH); i += 1) await sleep(1000);
}

/** Headless Chromium without sandbox, GPU, QUIC or any background traffic of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
