import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { Results } from '#bench/lib/results.js';
import { distribution } from '#bench/lib/stats.js';
import { BitrixTokenStack } from '#infra/bitrix-token-stack.js';

/**
 * The build the bundles are compared with: the last commit before the layout by role and the lean
 * bundles (docs/adr/0005-layout-by-role.md). Both builds are synthesized and measured in the same run, interleaved, so a
 * noisy machine skews both alike and the ratio stands.
 */
export const BASELINE_REVISION = '1119957';

export interface BundleOptions {
  /** Fresh `node` processes per bundle and build. */
  readonly runs: number;
  /** Git revision of the build to compare with. @default BASELINE_REVISION */
  readonly baseline?: string;
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  /** The function's environment as deployed (`NODE_OPTIONS` included: it changes how the bundle loads). */
  readonly environment: Record<string, string>;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The bundles of a synthesized stack, read from its cloud assembly: exactly what would be deployed. */
function bundlesOf(stack: BitrixTokenStack, assemblyDirectory: string): Bundle[] {
  const built = Object.entries(stack.functions).filter(
    (entry): entry is [string, NonNullable<(typeof entry)[1]>] => entry[1] !== undefined,
  );
  return built.map(([name, fn]) => {
    const cfn = fn.node.defaultChild as CfnFunction;
    const code = Stack.of(fn).resolve(cfn.code) as { s3Key?: unknown };
    const key = String(code.s3Key ?? '').replace(/\.zip$/, '');
    const variables =
      (Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
    // Resource references (table name, secret ARN, bus) become placeholders: nothing is called at init.
    const environment = Object.fromEntries(
      Object.entries(variables).map(([variable, value]) => [
        variable,
        typeof value === 'string' ? value : `bench-${variable.toLowerCase()}`,
      ]),
    );
    return { name, file: join(assemblyDirectory, `asset.${key}`, 'index.mjs'), environment };
  });
}

/**
 * Synthesizes this checkout's stack with bundling on: esbuild runs inside `AppFunction` with exactly
 * the options the deployment uses. Nothing is rebuilt here with copied options.
 */
function synthesizeCurrent(outdir: string): { bundles: Bundle[]; synthMs: number } {
  const started = performance.now();
  const app = new App({ outdir });
  // The opt-in example consumer too: it is measured like the rest.
  const stack = new BitrixTokenStack(app, 'Bitrix24TokenService', { exampleConsumer: true });
  const assembly = app.synth();
  return { bundles: bundlesOf(stack, assembly.directory), synthMs: performance.now() - started };
}

/**
 * Synthesizes `revision`'s stack the same way, from a git worktree of that commit sharing this
 * checkout's `node_modules`, in its own process (its modules are another version of ours).
 */
function synthesizeRevision(revision: string, workdir: string): Bundle[] {
  const tree = join(workdir, 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '--force', tree, revision], { cwd: ROOT, stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  // Inside the worktree, so `aws-cdk-lib` resolves from its node_modules.
  const script = join(tree, 'bench-synth.ts');
  writeFileSync(
    script,
    `import { App, Stack } from 'aws-cdk-lib';
import { BitrixTokenStack } from ${JSON.stringify(pathToFileURL(join(tree, 'infra', 'bitrix-token-stack.ts')).href)};
const app = new App({ outdir: ${JSON.stringify(join(workdir, 'cdk.out'))} });
const stack = new BitrixTokenStack(app, 'Bitrix24TokenService');
const assembly = app.synth();
const out = Object.entries(stack.functions).map(([name, fn]) => {
  const cfn = fn.node.defaultChild;
  const key = String(Stack.of(fn).resolve(cfn.code).s3Key ?? '').replace(/\\.zip$/, '');
  const variables = Stack.of(fn).resolve(cfn.environment)?.variables ?? {};
  const environment = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'bench-' + k.toLowerCase()]));
  return { name, file: assembly.directory + '/asset.' + key + '/index.mjs', environment };
});
process.stdout.write('\\n' + JSON.stringify(out) + '\\n');
`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: tree, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`synthesizing ${revision} failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '[]') as Bundle[];
}

/** Imports the bundle in a fresh Node process; returns the import time and the whole process's wall time. */
function coldImport(bundle: Bundle): { importMs: number; wallMs: number } {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle.file).href)}); const t1 = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0 }) + '\\n');`;
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // Never reached (nothing is called at init), but never AWS either.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      ...bundle.environment,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  const wallMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`importing ${bundle.file} failed: ${child.stderr}`);
  const last = child.stdout.trim().split('\n').pop() ?? '';
  return { importMs: (JSON.parse(last) as { importMs: number }).importMs, wallMs };
}

function sizes(file: string): { sizeKiB: number; gzipKiB: number; mapKiB: number } {
  const code = readFileSync(file);
  return {
    sizeKiB: statSync(file).size / 1024,
    gzipKiB: gzipSync(code).length / 1024,
    mapKiB: existsSync(`${file}.map`) ? statSync(`${file}.map`).size / 1024 : 0,
  };
}

/**
 * Benchmark 4: each function's bundle as deployed, and its cold init (the median time to import the
 * bundle, module scope included, in a fresh `node` with the function's own `NODE_OPTIONS`), side by
 * side with the same function of the baseline build. Old and new are imported alternately, `runs`
 * times each, so both see the same machine.
 */
export async function benchBundles(options: BundleOptions, results: Results): Promise<void> {
  const revision = options.baseline ?? BASELINE_REVISION;
  const workdir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    const { bundles, synthMs } = synthesizeCurrent(join(workdir, 'current'));
    process.stdout.write(`  bundles: synth with bundling took ${(synthMs / 1000).toFixed(1)} s\n`);
    results.add(
      'bundles',
      'bundles.synth',
      'cdk synth of the stack with esbuild bundling (in process)',
      synthMs / 1000,
      's',
      {
        functions: bundles.length,
      },
    );
    const baseline = new Map(synthesizeRevision(revision, workdir).map((bundle) => [bundle.name, bundle]));

    const details: Record<string, unknown> = { synthMs: Math.round(synthMs), baselineRevision: revision };
    for (const bundle of bundles) {
      const old = baseline.get(bundle.name);
      coldImport(bundle); // first runs: file cache
      if (old !== undefined) coldImport(old);
      const now: { importMs: number; wallMs: number }[] = [];
      const before: { importMs: number; wallMs: number }[] = [];
      for (let run = 0; run < options.runs; run += 1) {
        now.push(coldImport(bundle));
        if (old !== undefined) before.push(coldImport(old));
      }
      const importMs = distribution(
        now.map((s) => s.importMs),
        1,
      );
      const wallMs = distribution(
        now.map((s) => s.wallMs),
        1,
      );
      const size = sizes(bundle.file);
      const params = { runs: options.runs, node: process.version };
      results.add(
        'bundles',
        `bundles.${bundle.name}.size`,
        `${bundle.name}: bundle size (index.mjs, minified)`,
        size.sizeKiB,
        'KiB',
      );
      results.add('bundles', `bundles.${bundle.name}.gzip`, `${bundle.name}: bundle size gzipped`, size.gzipKiB, 'KiB');
      results.add(
        'bundles',
        `bundles.${bundle.name}.import`,
        `${bundle.name}: cold import, median`,
        importMs.median,
        'ms',
        params,
      );
      results.add(
        'bundles',
        `bundles.${bundle.name}.process`,
        `${bundle.name}: node start + import, median`,
        wallMs.median,
        'ms',
        params,
      );
      const detail: Record<string, unknown> = {
        ...size,
        importMs,
        processWallMs: wallMs,
        environment: bundle.environment.NODE_OPTIONS ?? '',
      };
      if (old !== undefined) {
        const oldImport = distribution(
          before.map((s) => s.importMs),
          1,
        );
        const oldSize = sizes(old.file);
        const baselineParams = { ...params, revision, nodeOptions: old.environment.NODE_OPTIONS ?? '' };
        results.add(
          'bundles',
          `bundles.baseline.${bundle.name}.size`,
          `${bundle.name} at ${revision}: bundle size`,
          oldSize.sizeKiB,
          'KiB',
          baselineParams,
        );
        results.add(
          'bundles',
          `bundles.baseline.${bundle.name}.import`,
          `${bundle.name} at ${revision}: cold import, median`,
          oldImport.median,
          'ms',
          baselineParams,
        );
        results.add(
          'bundles',
          `bundles.${bundle.name}.sizeRatio`,
          `${bundle.name}: size / size at ${revision}`,
          size.sizeKiB / oldSize.sizeKiB,
          'ratio',
          baselineParams,
        );
        results.add(
          'bundles',
          `bundles.${bundle.name}.importRatio`,
          `${bundle.name}: cold import / cold import at ${revision} (same run, interleaved)`,
          importMs.median / oldImport.median,
          'ratio',
          baselineParams,
        );
        detail.baseline = { ...oldSize, importMs: oldImport, nodeOptions: old.environment.NODE_OPTIONS ?? '' };
      }
      details[bundle.name] = detail;
      process.stdout.write(
        `  ${bundle.name}: ${size.sizeKiB.toFixed(0)} KiB, import median ${importMs.median} ms${
          old === undefined
            ? ''
            : ` (baseline ${sizes(old.file).sizeKiB.toFixed(0)} KiB, ${
                distribution(
                  before.map((s) => s.importMs),
                  1,
                ).median
              } ms)`
        }\n`,
      );
    }
    results.detail('bundles', details);
  } finally {
    if (existsSync(join(workdir, 'tree'))) {
      execFileSync('git', ['worktree', 'remove', '--force', join(workdir, 'tree')], { cwd: ROOT, stdio: 'ignore' });
    }
    rmSync(workdir, { recursive: true, force: true });
  }
}
