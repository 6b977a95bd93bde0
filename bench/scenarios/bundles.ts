import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { Results } from '#bench/lib/results.js';
import { distribution } from '#bench/lib/stats.js';
import { BitrixTokenStack } from '#infra/bitrix-token-stack.js';

export interface BundleOptions {
  /** Fresh `node` processes per bundle. */
  readonly runs: number;
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly environment: Record<string, string>;
}

/**
 * Synthesizes the real stack with bundling on: esbuild runs inside `AppFunction` (NodejsFunction) with
 * exactly the options the deployment uses, and the bundles are read from the cloud assembly. Nothing
 * is rebuilt here with copied options.
 */
function synthesizeBundles(outdir: string): { bundles: Bundle[]; synthMs: number } {
  const started = performance.now();
  const app = new App({ outdir });
  const stack = new BitrixTokenStack(app, 'Bitrix24TokenService');
  const assembly = app.synth();
  const synthMs = performance.now() - started;
  const bundles = Object.entries(stack.functions).map(([name, fn]) => {
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
    return { name, file: join(assembly.directory, `asset.${key}`, 'index.mjs'), environment };
  });
  return { bundles, synthMs };
}

/** Imports the bundle in a fresh Node process; returns the import time and the process's own uptime at the end. */
function coldImport(
  file: string,
  environment: Record<string, string>,
): { importMs: number; processMs: number; wallMs: number } {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); const t1 = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0, processMs: t1 }) + '\\n');`;
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // Never reached (nothing is called at init), but never AWS either.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      ...environment,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  const wallMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
  const last = child.stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(last) as { importMs: number; processMs: number };
  return { ...parsed, wallMs };
}

/**
 * Benchmark 4: size of each function's bundle as deployed, and its cold init: the median time to
 * import the bundle (module scope: config, SDK clients, adapters) in a fresh `node` process, over
 * `runs` processes, with `--enable-source-maps` as the functions run. A bare `node -e 0` gives the
 * process baseline.
 */
export async function benchBundles(options: BundleOptions, results: Results): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-cdk-'));
  try {
    const { bundles, synthMs } = synthesizeBundles(outdir);
    process.stdout.write(`  bundles: synth with bundling took ${(synthMs / 1000).toFixed(1)} s\n`);
    results.add(
      'bundles',
      'bundles.synth',
      'cdk synth of the stack with esbuild bundling (in process)',
      synthMs / 1000,
      's',
      { functions: bundles.length },
    );

    const baseline: number[] = [];
    for (let i = 0; i < options.runs; i += 1) {
      const started = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      baseline.push(performance.now() - started);
    }
    const base = distribution(baseline, 1);
    results.add('bundles', 'bundles.nodeBaseline', '`node -e 0` process wall time, median', base.median, 'ms', {
      runs: options.runs,
    });

    const details: Record<string, unknown> = { synthMs: Math.round(synthMs), nodeBaselineMs: base };
    for (const bundle of bundles) {
      const code = readFileSync(bundle.file);
      const sizeKiB = statSync(bundle.file).size / 1024;
      const gzipKiB = gzipSync(code).length / 1024;
      const mapKiB = statSync(`${bundle.file}.map`).size / 1024;
      coldImport(bundle.file, bundle.environment); // first run: file cache
      const samples = Array.from({ length: options.runs }, () => coldImport(bundle.file, bundle.environment));
      const importMs = distribution(
        samples.map((s) => s.importMs),
        1,
      );
      const processMs = distribution(
        samples.map((s) => s.processMs),
        1,
      );
      const wallMs = distribution(
        samples.map((s) => s.wallMs),
        1,
      );
      const params = { runs: options.runs, node: process.version, sourceMaps: true };
      results.add(
        'bundles',
        `bundles.${bundle.name}.size`,
        `${bundle.name}: bundle size (index.mjs, minified)`,
        sizeKiB,
        'KiB',
        {},
      );
      results.add('bundles', `bundles.${bundle.name}.gzip`, `${bundle.name}: bundle size gzipped`, gzipKiB, 'KiB', {});
      results.add(
        'bundles',
        `bundles.${bundle.name}.import`,
        `${bundle.name}: cold import of the bundle, median`,
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
      details[bundle.name] = {
        sizeKiB,
        gzipKiB,
        sourceMapKiB: mapKiB,
        importMs,
        processUptimeMs: processMs,
        processWallMs: wallMs,
      };
      process.stdout.write(`  ${bundle.name}: ${sizeKiB.toFixed(0)} KiB, import median ${importMs.median} ms\n`);
    }
    results.detail('bundles', details);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
