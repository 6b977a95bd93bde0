import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServiceDescriptor } from '#local/service-descriptor.js';
import type { PortalStatusReport } from '#shared/core/use-cases/portal-status.js';
import { type CliResult, runOps } from '#test/helpers/processes/ops-cli.js';
import { startReadyProcess } from '#test/helpers/processes/ready-process.js';
import {
  processesMentioning,
  removeDataDir,
  type ServeProcess,
  startServeProcess,
} from '#test/helpers/processes/serve-process.js';

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

/** Installs the app on the demo portal in the emulator (again, if it was): ONAPPINSTALL reaches our handler. */
async function installDemo(): Promise<{ delivered: boolean; status: number }> {
  const response = await fetch(`${serve.emulatorUrl}_emulator/portals/demo.bitrix24.com/install`, { method: 'POST' });
  return (await response.json()) as { delivered: boolean; status: number };
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

  it('stores the demo portal’s tokens when the emulator installs the app (ONAPPINSTALL to our handler)', async () => {
    // Act
    const delivery = await installDemo();
    const report = await statusJson();

    // Assess
    expect(delivery).toMatchObject({ delivered: true, status: 200 });
    expect(report.counts.active).toBe(1);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({
      domain: 'demo.bitrix24.com',
      userId: 1,
      status: 'active',
      source: 'install_event',
    });
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

  it('stops cleanly on SIGTERM: exit code 0, no DynamoDB Local left, descriptor removed', async () => {
    // Prepare
    expect(processesMentioning(serve.dataDir).length).toBeGreaterThan(0);

    // Act
    const code = await serve.stop();

    // Assess
    expect(code).toBe(0);
    expect(serve.output()).toContain('SIGTERM: stopping');
    expect(processesMentioning(serve.dataDir)).toEqual([]);
    expect(existsSync(join(serve.dataDir, 'endpoint.json'))).toBe(false);
  });
});
