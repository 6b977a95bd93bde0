/**
 * Builds `@bitrix24-token-service/consumer` from its sources in `shared/consumer/` (run by `npm run
 * build -w @bitrix24-token-service/consumer`, and by `npm pack` before packing):
 *
 * - `dist/index.js`, `dist/b24jssdk.js`, `dist/cdk.js`: ESM, one per entry, with the code they share in
 *   `dist/chunks/` (so an error class is one class whichever entry it came through). The AWS SDK, the
 *   official Bitrix24 SDK and the CDK stay dependencies: a bundler or the Lambda runtime provides them.
 * - `dist/types/`: the declarations tsc emits for the entries and everything they name; the package's
 *   `imports` map resolves their `#shared/…` specifiers inside `dist/types`.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const here = import.meta.dirname;
const root = join(here, '..', '..');
const dist = join(here, 'dist');

rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    index: 'shared/consumer/index.ts',
    b24jssdk: 'shared/consumer/b24jssdk-adapter.ts',
    cdk: 'shared/consumer/cdk/index.ts',
  },
  outdir: dist,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@aws-sdk/*', '@smithy/*', '@bitrix24/b24jssdk', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
  // Readable output: the consumer's own bundler minifies; error class names must survive anyway.
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
});
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(here, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
