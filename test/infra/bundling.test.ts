import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionName } from '#infra/function-catalog.js';
import { buildApp, logicalId } from './stack-fixture.js';

const NAMES = Object.keys(FUNCTIONS) as FunctionName[];
let bundles: Record<FunctionName, { code: string; mapPath: string }>;

// The one synth that runs esbuild for every function (the other infra tests skip bundling).
beforeAll(() => {
  // Prepare
  const { app, stack } = buildApp({}, { bundle: true, nag: true });

  // Act (cdk-nag is on: a finding would fail this synth)
  const assembly = app.synth();
  const template = Template.fromStack(stack);

  const functions = template.findResources('AWS::Lambda::Function');
  const entries = NAMES.map((name) => {
    // The asset directory is named after the hash that names the uploaded zip.
    const s3Key: unknown = functions[logicalId(stack.functions[name])]?.Properties.Code.S3Key;
    const dir = join(assembly.directory, `asset.${String(s3Key).replace(/\.zip$/, '')}`);
    return [name, { code: readFileSync(join(dir, 'index.mjs'), 'utf8'), mapPath: join(dir, 'index.mjs.map') }] as const;
  });
  bundles = Object.fromEntries(entries) as typeof bundles;
}, 300_000);

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
});
