/**
 * `npm run bench`: measures the service on this machine and records the figures.
 *
 * Starts DynamoDB Local (in memory) and, per benchmark, the Bitrix24 emulator on 127.0.0.1; writes
 * `bench/results.json` (machine, Node, date, every figure with its unit and parameters) and the table
 * between the markers in `docs/BENCHMARKS.md`. Nothing here asserts a time limit: it records.
 *
 *   npm run bench                       every benchmark (about 8 minutes on 2 cores)
 *   npm run bench -- --only=sweep,sdk   some of them: sweep, cost, consumer, bundles, sdk, fanout
 *   npm run bench -- --quick            small sizes, for trying the runner (results are not written)
 */
import './lib/environment.js';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { localDynamoDb } from './lib/dynamodb.js';
import { writeBenchmarkReport } from './lib/report.js';
import { Results } from './lib/results.js';
import { benchBundles } from './scenarios/bundles.js';
import { benchConsumerReads } from './scenarios/consumer-reads.js';
import { benchFanout } from './scenarios/fanout.js';
import { benchSdkComparison } from './scenarios/sdk-comparison.js';
import { benchSweepCost } from './scenarios/sweep-cost.js';
import { benchSweepThroughput } from './scenarios/sweep-throughput.js';

const BENCHMARKS = ['sweep', 'cost', 'consumer', 'bundles', 'sdk', 'fanout'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

function parseArgs(argv: readonly string[]): { only: Set<Benchmark>; quick: boolean } {
  let only = new Set<Benchmark>(BENCHMARKS);
  let quick = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) {
      const names = arg.slice('--only='.length).split(',');
      for (const name of names) {
        if (!(BENCHMARKS as readonly string[]).includes(name))
          throw new Error(`unknown benchmark ${name}; known: ${BENCHMARKS.join(', ')}`);
      }
      only = new Set(names as Benchmark[]);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { only, quick };
}

async function main(): Promise<void> {
  const { only, quick } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const results = new Results();
  results.detail(
    'loadAverageAtStart',
    loadavg().map((n) => Number(n.toFixed(2))),
  );
  const timings: Record<string, number> = {};
  const ddb = await localDynamoDb();
  const step = async (name: Benchmark, run: () => Promise<void>) => {
    if (!only.has(name)) return;
    process.stdout.write(`${name}…\n`);
    const t0 = performance.now();
    await run();
    timings[name] = Math.round((performance.now() - t0) / 1000);
    process.stdout.write(`${name} done in ${timings[name]} s\n`);
  };
  try {
    await step('sweep', () =>
      benchSweepThroughput(
        {
          endpoint: ddb.endpoint,
          plan: quick
            ? [{ size: 200, latenciesMs: [0, 50, 100] }]
            : [
                { size: 1000, latenciesMs: [0, 50, 100] },
                { size: 10_000, latenciesMs: [50, 100] },
              ],
          concurrency: 8,
        },
        results,
      ),
    );
    await step('cost', () =>
      benchSweepCost(
        {
          endpoint: ddb.endpoint,
          sizes: quick ? [2000, 6000] : [10_000, 100_000],
          dueFraction: 0.01,
          firstSweepDue: quick ? 20 : 100,
          concurrency: 8,
        },
        results,
      ),
    );
    await step('consumer', () =>
      benchConsumerReads(
        {
          endpoint: ddb.endpoint,
          warmReads: quick ? 500 : 5000,
          uncachedReads: quick ? 200 : 1000,
          coldReads: quick ? 50 : 300,
          readers: 100,
          tokenLatencyMs: 50,
        },
        results,
      ),
    );
    await step('bundles', () => benchBundles({ runs: quick ? 3 : 15 }, results));
    await step('sdk', () =>
      benchSdkComparison(
        {
          endpoint: ddb.endpoint,
          portals: quick ? 5 : 20,
          processes: 4,
          rounds: quick ? 2 : 3,
          killRounds: quick ? 2 : 6,
          tokenLatencyMs: 50,
          seed: 20260301,
        },
        results,
      ),
    );
    await step('fanout', () =>
      benchFanout(
        {
          endpoint: ddb.endpoint,
          size: quick ? 200 : 2000,
          workers: [1, 2, 4, 8],
          latencyMs: 100,
          // The last commit whose token sets carried their history.
          beforeCommit: '573484c',
        },
        results,
      ),
    );
  } finally {
    await ddb.stop();
  }
  const totalSeconds = Math.round((performance.now() - started) / 1000);
  if (quick) {
    process.stdout.write(`${JSON.stringify(results.figures, null, 1)}\n(quick run: results not written)\n`);
    return;
  }
  writeBenchmarkReport(results, {
    timingsSeconds: timings,
    totalSeconds,
    benchmarks: [...only],
    partial: only.size < BENCHMARKS.length,
  });
  process.stdout.write(`bench finished in ${totalSeconds} s: bench/results.json, docs/BENCHMARKS.md\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
