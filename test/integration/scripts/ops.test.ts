import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BitrixEmulator, DEFAULT_APP, startBitrixEmulator } from '#local/emulator/index.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import type { NewChainInput } from '#shared/core/ports/token-repository.js';
import { memberId, newChain } from '#test/helpers/builders/fixtures.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';
import { runOps as ops } from '#test/helpers/processes/ops-cli.js';

let table: TestTable;
let repo: DynamoDbTokenRepository;
const chains: NewChainInput[] = [];
let dead: NewChainInput;

beforeAll(async () => {
  table = await createTestTable('ops');
  repo = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const now = Date.now();
  for (const domain of ['alpha.bitrix24.com', 'beta.bitrix24.com']) {
    const chain = newChain({
      clientEndpoint: `https://${domain}/rest/`,
      refreshIssuedAt: now - 12 * DAY,
      accessExpiresAt: now + HOUR,
    });
    await repo.storeNewChain(chain, null);
    await repo.saveInstallation(
      {
        memberId: chain.memberId,
        domain,
        clientEndpoint: chain.clientEndpoint,
        serverEndpoint: chain.serverEndpoint,
        status: 'active',
        installedAt: now - 20 * DAY,
        installedBy: 1,
        appVersion: '1',
        now,
      },
      null,
    );
    chains.push(chain);
  }
  dead = newChain({ clientEndpoint: 'https://dead.bitrix24.com/rest/', userId: 9 });
  await repo.storeNewChain(dead, null);
  await repo.recordFailure(
    { memberId: dead.memberId, userId: 9 },
    {
      usedRefreshToken: dead.refreshToken,
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'refresh token expired', at: now - 60_000 },
      status: 'reauth_required',
      consecutiveFailures: 1,
      now,
    },
  );
});
afterAll(async () => {
  await table.drop();
});

function expectNoTokens(text: string): void {
  for (const chain of [...chains, dead]) {
    expect(text).not.toContain(chain.accessToken);
    expect(text).not.toContain(chain.refreshToken);
  }
}

describe('npm run ops (against a table, as in AWS)', () => {
  it('lists every token set, most urgent first, with counts and times, and no token', async () => {
    // Act
    const result = await ops(['list', '--table', table.tableName, '--page-size', '2']);

    // Assess
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('3 portals: 1 reauth_required, 2 active');
    expect(lines[1]).toMatch(
      /^MEMBER_ID\s+DOMAIN\s+USER\s+STATUS\s+ACCESS EXPIRES\s+REFRESH AGE\s+LAST REFRESH\s+LAST FAILURE$/,
    );
    expect(lines[2]).toContain(dead.memberId);
    expect(lines[2]).toContain('reauth_required');
    expect(lines[2]).toMatch(/invalid_grant: refresh token expired \(\d+ min ago\)/);
    expect(lines[3]).toMatch(/alpha\.bitrix24\.com\s+1\s+active\s+in \d+ min\s+12 d of 30 d\s+never/);
    // Progress goes to stderr, one line per page when not on a terminal.
    expect(result.stderr).toMatch(/reading… page 1, 2 items/);
    expect(result.stderr).toMatch(/reading… page [3-9]/);
    expectNoTokens(result.stdout + result.stderr);
  });

  it('filters by status and prints JSON with --json', async () => {
    // Act
    const result = await ops(['list', '--status', 'reauth_required', '--json', '--table', table.tableName]);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      rows: { memberId: string; status: string }[];
      counts: Record<string, number>;
    };
    expect(report.rows.map((r) => [r.memberId, r.status])).toEqual([[dead.memberId, 'reauth_required']]);
    expect(report.counts.active).toBe(2);
    expectNoTokens(result.stdout);
  });

  it('shows one portal with its installation and token sets', async () => {
    // Prepare
    const chain = chains[0];
    if (chain === undefined) throw new Error('fixture');

    // Act
    const text = await ops(['show', chain.memberId, '--table', table.tableName]);
    const json = await ops(['show', chain.memberId, '--json', '--table', table.tableName]);

    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('domain:          alpha.bitrix24.com');
    expect(text.stdout).toContain('user 1: active');
    expect(text.stdout).toMatch(/refresh token: {2}12 d of 30 d/);
    expect(json.code).toBe(0);
    const detail = JSON.parse(json.stdout) as { installation: { domain: string }; rows: { userId: number }[] };
    expect(detail.installation.domain).toBe('alpha.bitrix24.com');
    expect(detail.rows.map((r) => r.userId)).toEqual([1]);
    expectNoTokens(text.stdout + json.stdout);
  });

  it('fails with exit code 1 and a clear message for a portal it does not know', async () => {
    // Prepare
    const unknown = memberId();

    // Act
    const result = await ops(['show', unknown, '--table', table.tableName]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: portal ${unknown} not found`);
    expect(result.stdout).toBe('');
  });

  it('answers wrong usage with exit code 2, one line saying what is wrong and where the reference is', async () => {
    // Act: each run is its own process; they run side by side.
    const [unknownCommand, badStatus, unknownOption, missingValue, extraArgument, argumentToList, help] =
      await Promise.all([
        ops(['frobnicate']),
        ops(['list', '--status', 'fine', '--table', table.tableName]),
        ops(['list', '--bogus']),
        ops(['list', '--status']),
        ops(['show', 'a', 'b', '--table', table.tableName]),
        ops(['list', 'everything', '--table', table.tableName]),
        ops(['--help']),
      ]);

    // Assess
    const hint = 'run `npm run ops -- --help` for the commands and options\n';
    expect(unknownCommand).toMatchObject({ code: 2, stdout: '', stderr: `error: unknown command frobnicate\n${hint}` });
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(
      /^error: unknown status fine; use reauth_required, .*, uninstalled, portal_deleted\n/,
    );
    expect(unknownOption).toMatchObject({ code: 2, stderr: `error: unknown option --bogus\n${hint}` });
    expect(missingValue).toMatchObject({ code: 2, stderr: `error: --status needs a value\n${hint}` });
    expect(extraArgument).toMatchObject({ code: 2, stderr: `error: show takes one memberId; unexpected: b\n${hint}` });
    expect(argumentToList).toMatchObject({
      code: 2,
      stderr: `error: list takes no arguments; unexpected: everything\n${hint}`,
    });
    for (const result of [unknownCommand, badStatus, unknownOption, missingValue, extraArgument, argumentToList]) {
      expect(result.stderr).not.toContain('Usage:');
      expect(result.stderr.split('\n').filter((line) => line !== '')).toHaveLength(2);
    }
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run ops -- <command>');
  });

  it('says which rows a status filter matched, and when none did, against the counts of the whole table', async () => {
    // Act
    const some = await ops(['list', '--status', 'reauth_required', '--table', table.tableName]);
    const none = await ops(['list', '--status', 'degraded,payment_required', '--table', table.tableName]);

    // Assess
    expect(some.code).toBe(0);
    const lines = some.stdout.trim().split('\n');
    expect(lines[0]).toBe('1 of 3 rows match reauth_required; 3 portals: 1 reauth_required, 2 active');
    expect(lines).toHaveLength(3);
    expect(none).toMatchObject({
      code: 0,
      stdout: 'no portal matches degraded, payment_required; 3 portals: 1 reauth_required, 2 active\n',
    });
  });

  it('counts pages, items and portals in words that agree with the number', async () => {
    // Act
    const result = await ops(['list', '--table', table.tableName, '--page-size', '1']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('reading… page 1, 1 item, 1 portal\n');
    expect(result.stderr).not.toMatch(/\b1 (items|portals)\b/);
  });

  it('says to set AWS_REGION when --table is given without a region', async () => {
    // Act
    const result = await ops(['list', '--table', table.tableName], {
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: no AWS region for --table: set AWS_REGION');
    expect(result.stderr).not.toContain('Region is missing');
  });

  it('serves the status page against the table until SIGTERM', async () => {
    // Prepare
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/ops.ts', 'status-page', '--table', table.tableName],
      {
        env: { ...process.env, TABLE_NAME: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /status page: (http:\/\/127\.0\.0\.1:\d+\/status)/.exec(out);
        if (match?.[1] !== undefined) resolveUrl(match[1]);
      });
      void exited.then((code) => reject(new Error(`status-page exited with ${code}`)));
    });

    // Act
    const page = await fetch(url);
    const html = await page.text();
    const json = (await (await fetch(`${url}.json`)).json()) as { counts: Record<string, number> };
    child.kill('SIGTERM');
    const code = await exited;

    // Assess
    expect(page.status).toBe(200);
    expect(html).toContain('alpha.bitrix24.com');
    expect(json.counts.reauth_required).toBe(1);
    expectNoTokens(html);
    expect(code).toBe(0);
  });

  it('says how to start the local service when none is running', async () => {
    // Act
    const result = await ops(['list', '--data-dir', `/tmp/no-such-dir-${memberId()}`]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no local service found');
    expect(result.stderr).toContain('npm start');
  });
});

describe('npm run ops refresh, sweep and uninstall (through the refresh path, against the emulator)', () => {
  let live: TestTable;
  let liveRepo: DynamoDbTokenRepository;
  let emulator: BitrixEmulator;
  let secrets: SecretsManagerServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    live = await createTestTable('ops-live');
    liveRepo = new DynamoDbTokenRepository({ client: live.client, tableName: live.tableName });
    emulator = await startBitrixEmulator();
    secrets = await startSecretsManagerServer({ 'ops-app': JSON.stringify(DEFAULT_APP) });
    env = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CLIENT_CREDENTIALS_SECRET_ID: 'ops-app',
      BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    };
  });
  afterAll(async () => {
    await emulator?.stop();
    await secrets?.stop();
    await live?.drop();
  });

  /** A portal with the app installed and a live emulator chain stored for user 1. */
  async function connected(options: { readonly due: boolean }) {
    const domain = `p${memberId().slice(0, 10)}.bitrix24.com`;
    const portal = emulator.addPortal({ domain, region: 'west', installed: true });
    const chain = emulator.issueTokens(portal, 1);
    const now = Date.now();
    const clientEndpoint = `https://${domain}/rest/`;
    await liveRepo.storeNewChain(
      {
        accessToken: chain.accessToken,
        refreshToken: chain.refreshToken,
        accessExpiresAt: chain.expires * 1000,
        refreshIssuedAt: now,
        memberId: portal.memberId,
        userId: 1,
        clientEndpoint,
        serverEndpoint: 'https://oauth.bitrix.info/rest/',
        source: 'install_event',
        refreshExpiresAt: now + 30 * DAY,
        nextRefreshAt: options.due ? now - 60_000 : now + 40 * 60_000,
        now,
      },
      null,
    );
    await liveRepo.saveInstallation(
      {
        memberId: portal.memberId,
        domain,
        clientEndpoint,
        serverEndpoint: 'https://oauth.bitrix.info/rest/',
        status: 'active',
        installedAt: now,
        now,
      },
      null,
    );
    return { portal, memberId: portal.memberId, chain };
  }

  it('refresh spends the refresh token once and stores the new pair, printing neither', async () => {
    // Prepare
    const { portal, memberId: member, chain } = await connected({ due: false });

    // Act
    const result = await ops(['refresh', member, '--table', live.tableName], env);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^user 1: refreshed \(version 1 → 2\), active, access token expires in \d+ min\n$/);
    expect(emulator.refreshCount(portal)).toBe(1);
    const stored = await liveRepo.getTokenSet({ memberId: member, userId: 1 });
    expect(stored?.refreshToken).not.toBe(chain.refreshToken);
    for (const secret of [chain.accessToken, chain.refreshToken, stored?.accessToken, stored?.refreshToken]) {
      expect(result.stdout + result.stderr).not.toContain(String(secret));
    }
  });

  it('refresh of a dead chain fails with exit code 1 and says what to do', async () => {
    // Prepare
    const { portal, memberId: member } = await connected({ due: false });
    emulator.revokeApp(portal);

    // Act
    const first = await ops(['refresh', member, '--table', live.tableName], env);
    const again = await ops(['refresh', member, '--json', '--table', live.tableName], env);
    const otherUser = await ops(['refresh', member, '--user', '5', '--table', live.tableName], env);

    // Assess
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('user 1: not refreshed: invalid_grant; status now reauth_required');
    // The result says it all: no log lines of the service next to it.
    expect(first.stderr).toBe(`target: table ${live.tableName} in us-east-1\n`);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({
      memberId: member,
      results: [{ userId: 1, outcome: 'failed', error: expect.stringContaining('reauth_required: the chain is dead') }],
    });
    expect(otherUser.code).toBe(1);
    expect(otherUser.stderr).toContain(`portal ${member} has no token set for user 5`);
    const shown = await ops(['show', member, '--table', live.tableName], env);
    expect(shown.stdout).toMatch(/history:\n.*refresh failed: invalid_grant \(invalid_grant\) → reauth_required/);
  });

  it('sweep refreshes what is due, reports each status change and exits 1 when a refresh failed', async () => {
    // Prepare
    const fine = await connected({ due: true });
    const dead = await connected({ due: true });
    emulator.revokeApp(dead.portal);

    // Act
    const result = await ops(['sweep', '--table', live.tableName], env);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^due \d+, refreshed 1, failed 1 \(1 invalid_grant\)/);
    expect(result.stderr).toContain(
      `${dead.portal.domain} user 1: active → reauth_required (reauth_required, invalid_grant)`,
    );
    expect(result.stderr).toMatch(/sweeping… 1 refreshed/);
    expect(emulator.refreshCount(fine.portal)).toBe(1);
    expect((await liveRepo.getTokenSet({ memberId: dead.memberId, userId: 1 }))?.status).toBe('reauth_required');
  });

  it('uninstall revokes: tokens deleted, installation kept as uninstalled; --clean removes the portal', async () => {
    // Prepare
    const kept = await connected({ due: false });
    const purged = await connected({ due: false });

    // Act
    const revoke = await ops(['uninstall', kept.memberId, '--table', live.tableName], env);
    const clean = await ops(['uninstall', purged.memberId, '--clean', '--json', '--table', live.tableName], env);
    const unknown = memberId();
    const missing = await ops(['uninstall', unknown, '--table', live.tableName], env);

    // Assess
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toBe(`portal ${kept.memberId}: 1 token set(s) deleted, installation marked uninstalled\n`);
    expect(await liveRepo.listTokenSets(kept.memberId)).toEqual([]);
    expect((await liveRepo.getInstallation(kept.memberId))?.status).toBe('uninstalled');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ kind: 'uninstalled', clean: true, tokenSetsDeleted: 1 });
    expect(await liveRepo.getInstallation(purged.memberId)).toBeUndefined();
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: portal ${unknown} not found`);
  });
});
