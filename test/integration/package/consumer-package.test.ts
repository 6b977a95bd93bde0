import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '#infra/constructs/app-function.js';
import { HOUR } from '#shared/core/domain/time.js';
import { type ConsumerHarness, startConsumerHarness, VENDOR_FUNCTION } from '#test/helpers/harnesses/consumer.js';

const run = promisify(execFile);

/** What `npm pack --json` says about the tarball it wrote. */
interface PackReport {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

let h: ConsumerHarness;
let scratch: string;
let pack: PackReport;

// The package as another team gets it: `npm pack` (which builds it), then installed from the tarball
// into a fresh project outside this repository, where nothing of the repository can be resolved.
beforeAll(async () => {
  h = await startConsumerHarness({ frozen: false });
  scratch = mkdtempSync(join(tmpdir(), 'consumer-package-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: join(PROJECT_ROOT, 'packages', 'consumer'),
    maxBuffer: 16 * 1024 * 1024,
  });
  const reports = JSON.parse(packed.stdout) as PackReport[];
  const report = reports[0];
  if (report === undefined) throw new Error('npm pack reported nothing');
  pack = report;
  const project = join(scratch, 'project');
  await run('mkdir', ['-p', project]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'a-team-lambda',
      private: true,
      type: 'module',
      dependencies: { '@bitrix24-token-service/consumer': `file:${join(scratch, pack.filename)}` },
    }),
  );
  // Its dependencies (the AWS SDK clients) come from npm's cache when they are there.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project,
    maxBuffer: 16 * 1024 * 1024,
  });
}, 300_000);
afterAll(async () => {
  await h.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the consumer package, packed and installed in a project of its own', () => {
  it('ships the built entries and their declarations, and no source', () => {
    // Act
    const files = pack.files.map((f) => f.path);

    // Assess
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/cdk.js',
        'dist/b24jssdk.js',
        'dist/types/shared/consumer/index.d.ts',
        'dist/types/shared/consumer/cdk/index.d.ts',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('reads a token from DynamoDB Local through the token vendor, with nothing but its environment', async () => {
    // Prepare: the stored access token expired, so the package must ask the vendor
    const { portal, stored } = await h.seedPortal(`package-${Date.now().toString(36)}.bitrix24.com`, {
      accessExpiresAt: Date.now() - 1,
    });
    const script = `import { getAccessToken, VENDOR_CONTRACT_VERSION } from '@bitrix24-token-service/consumer';
const token = await getAccessToken({ memberId: process.env.MEMBER_ID });
process.stdout.write(JSON.stringify({ contract: VENDOR_CONTRACT_VERSION, token }));`;
    writeFileSync(join(scratch, 'project', 'read-token.mjs'), script);
    h.resetCounts();

    // Act
    const child = await run(process.execPath, ['read-token.mjs'], {
      cwd: join(scratch, 'project'),
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        ...h.consumerEnv(),
        MEMBER_ID: portal.memberId,
      },
    });
    const { contract, token } = JSON.parse(child.stdout) as {
      contract: number;
      token: { accessToken: string; version: number; expiresAt: number; userId: number };
    };

    // Assess
    const after = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(contract).toBe(1);
    expect(token.version).toBe(stored.version + 1);
    expect(token.accessToken).toBe(after?.accessToken);
    expect(token.expiresAt).toBeGreaterThan(Date.now() + HOUR / 2);
    expect(child.stdout).not.toContain(stored.refreshToken);
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(h.lambda.counts[`${VENDOR_FUNCTION}:RequestResponse`]).toBe(1);
  });

  it('gives TypeScript its types through the exports map (node16 resolution, declarations only)', async () => {
    // Prepare: each expectation fails to compile if a type resolved to `any`
    const project = join(scratch, 'project');
    writeFileSync(
      join(project, 'check.ts'),
      `import { type AccessToken, createTokenConsumer, TokenUnavailableError } from '@bitrix24-token-service/consumer';
import type { TokenConsumerAccessProps } from '@bitrix24-token-service/consumer/cdk';
// @ts-expect-error accessToken is a string
const wrong: AccessToken = { accessToken: 1 };
const error = new TokenUnavailableError('refresh_failed', 'abc');
// @ts-expect-error reason is one of the documented reasons
const reason: 'unknown' = error.reason;
// @ts-expect-error the props name the table, the key and the vendor
const props: TokenConsumerAccessProps = {};
export const consumer: typeof createTokenConsumer = createTokenConsumer;
export { props, reason, wrong };
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );

    // Act
    const result = await run(join(PROJECT_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', project]).then(
      () => ({ code: 0, output: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? '' }),
    );

    // Assess
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});
