import { performance } from 'node:perf_hooks';
import { type CommandTally, totalCalls } from '#bench/lib/dynamodb.js';
import type { Results } from '#bench/lib/results.js';
import { World } from '#bench/lib/world.js';
import { MINUTE } from '#shared/core/domain/time.js';

export interface SweepThroughputOptions {
  readonly endpoint: string;
  /**
   * Due token sets per table, and the latencies of every `/oauth/token/` answer (emulator fault
   * `latencyMs`) swept in turn. A 0 ms run measures the local ceiling (DynamoDB Local, the emulator and
   * the sweep sharing the machine) and warms DynamoDB Local's JIT for the runs after it.
   */
  readonly plan: readonly { readonly size: number; readonly latenciesMs: readonly number[] }[];
  /** Refreshes in flight (`REFRESH_SWEEP_CONCURRENCY`; the production default is 8). */
  readonly concurrency: number;
}

/** Per-refresh DynamoDB requests of a sweep, by command, without the due-index Queries. */
function perRefresh(snapshot: Record<string, CommandTally>, refreshed: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, tally] of Object.entries(snapshot)) {
    if (name === 'Query') continue;
    out[name] = Number((tally.calls / refreshed).toFixed(3));
  }
  return out;
}

/**
 * Benchmark 1 (and the per-refresh half of 2): one sweep over N due token sets against the emulator
 * with a fixed latency on every token call. The lower bound on its wall time is N × latency /
 * concurrency (each worker waits for the server one refresh at a time); the ratio to that bound shows
 * what the rest of the path (three DynamoDB requests per refresh, the due-index Queries, HTTP) adds.
 */
export async function benchSweepThroughput(options: SweepThroughputOptions, results: Results): Promise<void> {
  const runs: Record<string, unknown>[] = [];
  for (const { size, latenciesMs } of options.plan) {
    const world = await World.start({ endpoint: options.endpoint, name: `bench-sweep-${size}` });
    try {
      const seedStarted = performance.now();
      await world.seedChains(world.addPortals(size), { due: true, concurrency: 16 });
      const seedMs = performance.now() - seedStarted;
      for (const [index, latencyMs] of latenciesMs.entries()) {
        // The previous run refreshed everything; 50 minutes later every token set is due again
        // (always_warm renews 15–20 minutes before the hour ends).
        if (index > 0) world.emulator.clock.advance(50 * MINUTE);
        world.emulator.faults.clear();
        world.emulator.faults.set('token', { latencyMs });
        world.emulator.resetCounters();
        world.dynamodb.reset();
        const started = performance.now();
        // maxKeys is split evenly over the shards; the hash spreads unevenly, so allow every key in each.
        const summary = await world.sweep({
          concurrency: options.concurrency,
          maxKeys: size * world.config.DUE_SHARDS,
        });
        const wallMs = performance.now() - started;
        const outcomes = world.refreshOutcomes();
        if (summary.refreshed !== size || outcomes.ok !== size || Object.keys(outcomes).length !== 1) {
          throw new Error(
            `sweep of ${size} at ${latencyMs} ms refreshed ${summary.refreshed} (server: ${JSON.stringify(outcomes)})`,
          );
        }
        const boundMs = (size * latencyMs) / options.concurrency;
        const ddb = world.dynamodb.snapshot();
        const params = {
          dueTokens: size,
          latencyMs,
          concurrency: options.concurrency,
          dueShards: world.config.DUE_SHARDS,
        };
        const prefix = `sweep.${size}.${latencyMs}ms`;
        if (latencyMs === 0) {
          results.add(
            'sweep',
            `${prefix}.rate`,
            `refreshes per second with an instant authorization server (local ceiling), N=${size}`,
            size / (wallMs / 1000),
            'refreshes/s',
            params,
          );
          results.add('sweep', `${prefix}.wall`, `sweep wall time, N=${size}, 0 ms`, wallMs / 1000, 's', params);
          runs.push({
            ...params,
            seedMs: Math.round(seedMs),
            wallMs: Math.round(wallMs),
            summary,
            dynamodb: ddb,
            dynamodbRequestsPerRefresh: perRefresh(ddb, size),
          });
          process.stdout.write(`  sweep N=${size} latency=0ms: ${(wallMs / 1000).toFixed(2)} s (local ceiling)\n`);
          continue;
        }
        results.add(
          'sweep',
          `${prefix}.ratio`,
          `wall time / (N × latency / concurrency), N=${size}, ${latencyMs} ms`,
          wallMs / boundMs,
          '×',
          params,
        );
        results.add(
          'sweep',
          `${prefix}.wall`,
          `sweep wall time, N=${size}, ${latencyMs} ms`,
          wallMs / 1000,
          's',
          params,
        );
        results.add(
          'sweep',
          `${prefix}.bound`,
          `lower bound N × latency / concurrency, N=${size}, ${latencyMs} ms`,
          boundMs / 1000,
          's',
          params,
        );
        results.add(
          'sweep',
          `${prefix}.rate`,
          `refreshes per second, N=${size}, ${latencyMs} ms`,
          size / (wallMs / 1000),
          'refreshes/s',
          params,
        );
        runs.push({
          ...params,
          seedMs: Math.round(seedMs),
          wallMs: Math.round(wallMs),
          boundMs,
          summary,
          dynamodb: ddb,
          dynamodbRequestsPerRefresh: perRefresh(ddb, size),
          queriesPerSweep: ddb.Query?.calls ?? 0,
          totalDynamoDbRequests: totalCalls(ddb),
        });
        process.stdout.write(
          `  sweep N=${size} latency=${latencyMs}ms: ${(wallMs / 1000).toFixed(2)} s (bound ${(boundMs / 1000).toFixed(2)} s, ×${(wallMs / boundMs).toFixed(2)})\n`,
        );
      }
    } finally {
      await world.stop();
    }
  }
  results.detail('sweepThroughput', runs);
  // Benchmark 2, first half: what one refresh costs in DynamoDB requests, from the first run.
  const first = runs[0] as
    | { dynamodbRequestsPerRefresh: Record<string, number>; dueTokens: number; latencyMs: number }
    | undefined;
  if (first !== undefined) {
    const params = { dueTokens: first.dueTokens, latencyMs: first.latencyMs, concurrency: options.concurrency };
    let total = 0;
    for (const [name, perOne] of Object.entries(first.dynamodbRequestsPerRefresh)) {
      total += perOne;
      results.add(
        'dynamodb',
        `dynamodb.perRefresh.${name}`,
        `${name} requests per refresh (sweep)`,
        perOne,
        'requests',
        params,
      );
    }
    results.add(
      'dynamodb',
      'dynamodb.perRefresh.total',
      'DynamoDB requests per refresh (sweep, without the due-index Queries)',
      total,
      'requests',
      params,
    );
  }
}
