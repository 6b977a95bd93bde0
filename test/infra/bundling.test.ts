import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FUNCTIONS, type FunctionName } from '#infra/function-catalog.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';
import { buildApp, logicalId } from './stack-fixture.js';

const NAMES = Object.keys(FUNCTIONS) as FunctionName[];
let bundles: Record<FunctionName, { code: string; path: string; mapPath: string }>;
let table: TestTable;

// The one synth that runs esbuild for every function (the other infra tests skip bundling).
beforeAll(() => {
  // Prepare: every function of the catalog, the opt-in example consumer included
  const { app, stack } = buildApp({ exampleConsumer: true }, { bundle: true, nag: true });

  // Act (cdk-nag is on: a finding would fail this synth)
  const assembly = app.synth();
  const template = Template.fromStack(stack);

  const functions = template.findResources('AWS::Lambda::Function');
  const entries = NAMES.map((name) => {
    // The asset directory is named after the hash that names the uploaded zip.
    const s3Key: unknown = functions[logicalId(stack.functions[name])]?.Properties.Code.S3Key;
    if (s3Key === undefined) throw new Error(`${name} was not built`);
    const dir = join(assembly.directory, `asset.${String(s3Key).replace(/\.zip$/, '')}`);
    const path = join(dir, 'index.mjs');
    return [name, { code: readFileSync(path, 'utf8'), path, mapPath: join(dir, 'index.mjs.map') }] as const;
  });
  bundles = Object.fromEntries(entries) as typeof bundles;
}, 300_000);
afterAll(async () => {
  await table?.drop();
});

describe('bundled functions (real esbuild synth)', () => {
  it.each(NAMES)('%s is an ESM bundle that can require CommonJS dependencies, with a source map', (name) => {
    // Act
    const { code, mapPath } = bundles[name];

    // Assess
    expect(
      code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);"),
    ).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*as handler/);
    expect(existsSync(mapPath)).toBe(true);
  });

  it.each(NAMES)('%s carries its own AWS SDK instead of importing the runtime copy', (name) => {
    expect(bundles[name].code).not.toMatch(/(from|import\()\s*["']@(aws-sdk|smithy)\//);
  });

  it.each(NAMES)('%s stays within 400 KiB minified (every cold start compiles all of it)', (name) => {
    expect(statSync(bundles[name].path).size).toBeLessThanOrEqual(400 * 1024);
  });

  it.each(NAMES)(
    '%s takes its credentials from the environment, without the profile, SSO and STS chain of the SDK',
    (name) => {
      // The chain's STS and SSO clients are what shared/runtime/lambda-credentials.ts keeps out.
      expect(bundles[name].code).not.toMatch(/AssumeRoleWithWebIdentity|SSOOIDC/);
    },
  );

  it('runs from nothing but a function environment: credentials from the environment reach DynamoDB', async () => {
    // Prepare: an empty table, and the variables Lambda and CDK would give the dispatcher (nothing is
    // due, so nothing is sent to its queue)
    table = await createTestTable('bundle-run');
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundles.dispatchRefreshes.path).href)});
const context = { functionName: 'dispatch-refreshes', awsRequestId: 'r', getRemainingTimeInMillis: () => 60000 };
const summary = await handler({ source: 'aws.scheduler' }, context);
process.stdout.write(JSON.stringify(summary));`;

    // Act
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SESSION_TOKEN: 'local',
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
        TABLE_NAME: table.tableName,
        REFRESH_QUEUE_URL: 'http://127.0.0.1:9/000000000000/refresh',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
    });

    // Assess
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toMatchObject({ due: 0, enqueued: 0, backlog: 0 });
  }, 60_000);
});
