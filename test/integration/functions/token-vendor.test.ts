import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTokenVendor } from '#functions/token-vendor.js';
import type { BitrixEmulator } from '#local/emulator/index.js';
import { localContext } from '#local/lambda-http-server.js';
import { type LambdaInvokeServer, startLambdaInvokeServer } from '#local/lambda-invoke-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import type { Wiring } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { type DeployedEnv, startDeployedEnv } from '#test/helpers/harnesses/deployed-env.js';
import { seedPortal } from '#test/helpers/harnesses/seed-portal.js';
import { readWholeTable } from '#test/helpers/harnesses/table.js';
import { captureOutput } from '#test/helpers/vitest/capture-output.js';

const CLIENT = {
  clientId: 'local.vendor000001.12345678',
  clientSecret: 'VendorClientSecretMustNeverBeLogged0123456789',
};
const VENDOR = 'token-vendor';

let deployed: DeployedEnv;
let emulator: BitrixEmulator;
let wiring: Wiring;
let repository: DynamoDbTokenRepository;
let lambda: LambdaInvokeServer;
let client: LambdaClient;
let seq = 0;
const domain = (): string => `vendor${++seq}-${Date.now().toString(36)}.bitrix24.com`;

beforeAll(async () => {
  deployed = await startDeployedEnv({
    tableName: 'vendor',
    secretId: 'vendor-app',
    client: CLIENT,
    clock: { frozen: true },
  });
  emulator = deployed.emulator;
  wiring = deployed.wiring({ clock: () => emulator.clock.now() });
  repository = new DynamoDbTokenRepository({ client: deployed.table.client, tableName: deployed.table.tableName });
  lambda = await startLambdaInvokeServer({ functions: { [VENDOR]: makeTokenVendor(wiring) } });
  client = new LambdaClient({ endpoint: lambda.endpoint });
});
afterAll(async () => {
  client.destroy();
  await lambda.stop();
  await deployed.stop();
});

/** One invocation as any AWS SDK makes it: the JSON payload in, the JSON answer out. */
async function invoke(payload: unknown): Promise<Record<string, unknown>> {
  const output = await client.send(
    new InvokeCommand({ FunctionName: VENDOR, Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
  );
  expect(output.FunctionError).toBeUndefined();
  return JSON.parse(new TextDecoder().decode(output.Payload)) as Record<string, unknown>;
}

const seed = (options?: Parameters<typeof seedPortal>[3]) => seedPortal(emulator, repository, domain(), options);

describe('token vendor (Lambda Invoke, production wiring, emulator + DynamoDB Local + local Secrets Manager)', () => {
  it('answers the stored token while it stays valid, in contract v1, without the refresh token', async () => {
    // Prepare
    const { portal, stored } = await seed();

    // Act
    const answer = await invoke({ v: 1, memberId: portal.memberId, userId: 1 });

    // Assess
    expect(answer).toEqual({
      v: 1,
      accessToken: stored.accessToken,
      expiresAt: stored.accessExpiresAt,
      clientEndpoint: portal.clientEndpoint,
      domain: portal.domain,
      memberId: portal.memberId,
      userId: 1,
      version: stored.version,
    });
    expect(JSON.stringify(answer)).not.toContain(stored.refreshToken);
    expect(emulator.refreshCount(portal)).toBe(0);
  });

  it('chooses the default user when none is named, and records use', async () => {
    // Prepare
    const { portal } = await seed({ userId: 7 });

    // Act
    const answer = await invoke({ memberId: portal.memberId });

    // Assess
    expect(answer.userId).toBe(7);
    const after = await repository.getTokenSet({ memberId: portal.memberId, userId: 7 });
    expect(after?.lastUsedAt).toBe(emulator.clock.now());
  });

  it('refreshes a token that expires within minValiditySeconds, through the refresh path', async () => {
    // Prepare
    const { portal, stored } = await seed();
    emulator.clock.advance(50 * MINUTE);

    // Act
    const answer = await invoke({ memberId: portal.memberId, userId: 1, minValiditySeconds: 900 });

    // Assess
    expect(emulator.refreshCount(portal)).toBe(1);
    expect(answer.version).toBe(stored.version + 1);
    expect(answer.expiresAt).toBeGreaterThan(emulator.clock.now() + 900_000);
  });

  it('refreshes on a stale report of the stored version, and answers a newer one without refreshing again', async () => {
    // Prepare
    const { portal, stored } = await seed();

    // Act
    const first = await invoke({ memberId: portal.memberId, userId: 1, staleVersion: stored.version });
    const late = await invoke({ memberId: portal.memberId, userId: 1, staleVersion: stored.version });

    // Assess
    expect(emulator.refreshCount(portal)).toBe(1);
    expect(first.version).toBe(stored.version + 1);
    expect(late.accessToken).toBe(first.accessToken);
  });

  it('gives 20 concurrent invocations meeting one expired token one refresh and the same token', async () => {
    // Prepare
    const { portal } = await seed();
    emulator.clock.advance(HOUR + 1);
    emulator.faults.set('token', { latencyMs: 50 });

    // Act
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => invoke({ memberId: portal.memberId, userId: 1 })),
    );
    emulator.faults.clear('token');

    // Assess
    expect(emulator.refreshCount(portal)).toBe(1);
    expect(new Set(answers.map((a) => a.accessToken)).size).toBe(1);
  });

  it.each([
    ['not an object', 'no', 'invalid_request', 'payload'],
    ['no memberId', { userId: 1 }, 'invalid_request', 'memberId'],
    ['a malformed memberId', { memberId: '../x' }, 'invalid_request', 'memberId'],
    ['a negative userId', { memberId: 'abc', userId: -1 }, 'invalid_request', 'userId'],
    ['a staleVersion in text', { memberId: 'abc', userId: 1, staleVersion: '3' }, 'invalid_request', 'staleVersion'],
    ['too long a validity', { memberId: 'abc', minValiditySeconds: 3600 }, 'invalid_request', 'minValiditySeconds'],
    ['an unknown action', { memberId: 'abc', action: 'refresh' }, 'invalid_request', 'action'],
    ['recordUse without a user', { memberId: 'abc', action: 'recordUse' }, 'invalid_request', 'userId'],
    [
      'a move to something not a REST address',
      {
        memberId: 'abc',
        action: 'portalMoved',
        previousClientEndpoint: 'https://a.bitrix24.com/rest/',
        clientEndpoint: 'javascript:alert(1)',
      },
      'invalid_request',
      'clientEndpoint',
    ],
    ['another contract version', { v: 2, memberId: 'abc' }, 'unsupported_version', 'v'],
  ])('refuses %s with a typed error and changes nothing', async (_, payload, code, field) => {
    // Prepare
    await seed();
    const before = await readWholeTable(deployed.table.client, deployed.table.tableName);

    // Act
    const answer = await invoke(payload);

    // Assess
    expect(answer).toMatchObject({ v: 1, error: { code, field } });
    expect(await readWholeTable(deployed.table.client, deployed.table.tableName)).toEqual(before);
  });

  it('answers portal_not_found, uninstalled, reauth_required and payment_required as typed errors', async () => {
    // Prepare
    const unknown = 'f'.repeat(32);
    const { portal: removed } = await seed();
    const installation = await repository.getInstallation(removed.memberId);
    if (installation === undefined) throw new Error('seed failed');
    const now = emulator.clock.now();
    await repository.saveInstallation(
      { ...installation, status: 'uninstalled', uninstalledAt: now, now },
      installation.version,
    );
    await repository.deleteTokenSets(removed.memberId);
    const { portal: dead } = await seed();
    emulator.revokeApp(dead);
    const { portal: unpaid } = await seed();
    emulator.setPayment(unpaid, 'expired');
    emulator.clock.advance(HOUR + 1);

    // Act
    const answers = await Promise.all([
      invoke({ memberId: unknown }),
      invoke({ memberId: removed.memberId, userId: 1 }),
      invoke({ memberId: dead.memberId }),
      invoke({ memberId: unpaid.memberId }),
    ]);

    // Assess
    expect(answers.map((a) => (a.error as { code: string }).code)).toEqual([
      'portal_not_found',
      'uninstalled',
      'reauth_required',
      'payment_required',
    ]);
    expect(answers[2]).toMatchObject({ error: { memberId: dead.memberId, userId: 1 } });
  });

  it('answers busy with a retry time when another worker holds the lease longer than the invocation can wait', async () => {
    // Prepare: another worker holds the lease for a minute; the invocation has 2 s to spare for waiting.
    const { portal } = await seed();
    emulator.clock.advance(HOUR + 1);
    await repository.acquireLease(
      { memberId: portal.memberId, userId: 1 },
      { owner: 'elsewhere', now: emulator.clock.now(), leaseMs: 60_000 },
    );
    const handler = makeTokenVendor(wiring);

    // Act
    const answer = (await handler({ memberId: portal.memberId, userId: 1 }, localContext(VENDOR, 28_000))) as {
      error?: { code: string; retryAt?: number };
    };

    // Assess
    expect(answer.error?.code).toBe('busy');
    expect(answer.error?.retryAt).toBe(emulator.clock.now() + 60_000);
    expect(emulator.refreshCount(portal)).toBe(0);
  });

  it('records use on request (an asynchronous invocation)', async () => {
    // Prepare
    const { portal } = await seed();
    emulator.clock.advance(MINUTE);

    // Act
    await client.send(
      new InvokeCommand({
        FunctionName: VENDOR,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(
          JSON.stringify({ action: 'recordUse', memberId: portal.memberId, userId: 1 }),
        ),
      }),
    );
    await lambda.settle();

    // Assess
    const after = await repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(after?.lastUsedAt).toBe(emulator.clock.now());
  });

  it('stores a portal move the old address confirms, and refuses one it does not', async () => {
    // Prepare
    const { portal: renamed } = await seed();
    const { portal: other } = await seed();
    const oldEndpoint = renamed.clientEndpoint;
    const newDomain = `renamed-${domain()}`;
    emulator.rename(renamed, newDomain);
    const before = await readWholeTable(deployed.table.client, deployed.table.tableName);

    // Act: a move to a host of the caller's choosing, then the real one.
    const forged = await invoke({
      action: 'portalMoved',
      memberId: other.memberId,
      previousClientEndpoint: other.clientEndpoint,
      clientEndpoint: 'https://collector.example.com/rest/',
    });
    const afterForged = await readWholeTable(deployed.table.client, deployed.table.tableName);
    const confirmed = await invoke({
      action: 'portalMoved',
      memberId: renamed.memberId,
      previousClientEndpoint: oldEndpoint,
      clientEndpoint: `https://${newDomain}/rest/`,
    });

    // Assess
    expect(forged).toMatchObject({ error: { code: 'invalid_request', field: 'clientEndpoint' } });
    expect(afterForged).toEqual(before);
    expect(confirmed).toEqual({ v: 1, ok: true });
    const stored = await repository.getTokenSet({ memberId: renamed.memberId, userId: 1 });
    expect(stored?.clientEndpoint).toBe(`https://${newDomain}/rest/`);
    expect((await repository.getInstallation(renamed.memberId))?.domain).toBe(newDomain);
  });

  it('never writes a token or the client secret to the logs, even at DEBUG and on failures', async () => {
    // Prepare
    const { portal, stored } = await seed();
    const { portal: dead, stored: deadStored } = await seed();
    emulator.revokeApp(dead);
    emulator.clock.advance(HOUR + 1);
    // Everything the logger can say, so the assertion covers debug output too.
    const handler = makeTokenVendor(
      deployed.wiring({ clock: () => emulator.clock.now(), logger: powertoolsLogger('DEBUG') }),
    );
    let fresh = '';

    // Act
    const output = await captureOutput(async () => {
      const answer = (await handler({ memberId: portal.memberId }, localContext(VENDOR))) as { accessToken: string };
      fresh = answer.accessToken;
      await handler({ memberId: dead.memberId }, localContext(VENDOR));
      await handler({ memberId: portal.memberId, staleVersion: 'x' }, localContext(VENDOR));
    });
    const after = await repository.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Assess
    expect(output).toContain('vendor request refused');
    for (const secret of [
      CLIENT.clientSecret,
      stored.accessToken,
      stored.refreshToken,
      fresh,
      after?.refreshToken ?? 'missing',
      deadStored.accessToken,
      deadStored.refreshToken,
    ]) {
      expect(output).not.toContain(secret);
    }
  });
});
