import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Results } from '#bench/lib/results.js';
import { WorkerProcess } from '#bench/lib/worker-process.js';
import { World } from '#bench/lib/world.js';
import { startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { startSqsServer } from '#local/sqs-server.js';
import { SqsRefreshQueue } from '#shared/adapters/sqs/refresh-queue.js';
import { MINUTE } from '#shared/core/domain/time.js';
import { dispatchDueTokens } from '#shared/core/use-cases/dispatch-due-tokens.js';

const WORKER = 'bench/workers/fanout-worker.ts';
const PROBE = 'bench/lib/write-units-probe.ts';
/** Refreshes one worker invocation runs at once (the event source mapping's batch size). */
const BATCH = 10;

export interface FanoutOptions {
  readonly endpoint: string;
  /** Due token sets per run. */
  readonly size: number;
  /** Worker processes per run, each one invocation at a time (maximum concurrency 1 each). */
  readonly workers: readonly number[];
  /** Latency of every `/oauth/token/` answer (emulator fault `latencyMs`). */
  readonly latencyMs: number;
  /** The commit whose repository measures "before" (the history on the token set). */
  readonly beforeCommit: string;
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > giveUpAt) throw new Error('fan-out run did not finish in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The fan-out benchmark (docs/adr/0008-refresh-fan-out-on-sqs.md):
 * - throughput against fan-out: N due token sets dispatched to the local SQS stand-in and refreshed by
 *   1, 2, 4, 8 worker processes (each wired as the deployed worker, batches of 10 refreshed at once)
 *   against DynamoDB Local and the emulator at a fixed latency, as a ratio to the bound
 *   N × latency / (workers × 10);
 * - CPU milliseconds per refresh of the service code alone: the worker processes' CPU time (DynamoDB
 *   Local, the emulator and the queue run in other processes) over the refreshes, and what that makes
 *   per vCPU;
 * - write units per routine refresh, before and after the history moved to its own item: the same
 *   probe run against this tree and against an export of `beforeCommit`, with a short history and
 *   after five failure episodes.
 */
export async function benchFanout(options: FanoutOptions, results: Results): Promise<void> {
  const world = await World.start({ endpoint: options.endpoint, name: 'bench-fanout' });
  const app = world.emulator.app();
  const secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  const sqs = await startSqsServer({ refresh: { visibilityTimeoutMs: 60_000 } });
  const queueClient = new SQSClient({ endpoint: sqs.endpoint });
  const env = {
    ...world.processEnv(secrets.endpoint),
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    REFRESH_QUEUE_URL: sqs.queueUrl('refresh'),
  };
  const runs: Record<string, unknown>[] = [];
  try {
    await world.seedChains(world.addPortals(options.size), { due: true, concurrency: 16 });
    world.emulator.faults.set('token', { latencyMs: options.latencyMs });
    const queue = new SqsRefreshQueue({ client: queueClient, queueUrl: sqs.queueUrl('refresh') });
    for (const [index, count] of options.workers.entries()) {
      // Every token set was refreshed by the previous run; 50 minutes later all are due again.
      if (index > 0) world.emulator.clock.advance(50 * MINUTE);
      world.emulator.resetCounters();
      const workers = await Promise.all(Array.from({ length: count }, () => WorkerProcess.start(WORKER, env)));
      try {
        const dispatched = await dispatchDueTokens(
          { maxKeys: options.size * world.config.DUE_SHARDS },
          { repository: world.repository, queue, metrics: world.metrics, logger: world.logger, clock: world.clock },
        );
        const started = performance.now();
        await Promise.all(workers.map((w) => w.request({ op: 'start', now: world.clock() })));
        await until(() => sqs.depth('refresh') === 0 && (world.refreshOutcomes().ok ?? 0) >= options.size, 300_000);
        const wallMs = performance.now() - started;
        const stopped = await Promise.all(workers.map((w) => w.request({ op: 'stop' })));
        const outcomes = world.refreshOutcomes();
        if (
          dispatched.enqueued !== options.size ||
          outcomes.ok !== options.size ||
          Object.keys(outcomes).length !== 1
        ) {
          throw new Error(
            `fan-out with ${count} workers: enqueued ${dispatched.enqueued}, server ${JSON.stringify(outcomes)}`,
          );
        }
        const cpuMs = stopped.reduce((sum, m) => sum + Number((m as { cpuMs?: number }).cpuMs ?? 0), 0);
        const boundMs = (options.size * options.latencyMs) / (count * BATCH);
        const params = { dueTokens: options.size, latencyMs: options.latencyMs, workers: count, batch: BATCH };
        const prefix = `fanout.${count}w`;
        results.add(
          'fanout',
          `${prefix}.ratio`,
          `wall time / (N × latency / (workers × ${BATCH})), ${count} worker processes`,
          wallMs / boundMs,
          '×',
          params,
        );
        results.add(
          'fanout',
          `${prefix}.rate`,
          `refreshes per second, ${count} worker processes`,
          options.size / (wallMs / 1000),
          'refreshes/s',
          params,
        );
        results.add(
          'fanout',
          `${prefix}.cpuPerRefresh`,
          `worker CPU per refresh (service code only), ${count} worker processes`,
          cpuMs / options.size,
          'ms',
          params,
        );
        runs.push({ ...params, wallMs: Math.round(wallMs), boundMs, cpuMs: Math.round(cpuMs), dispatched, stopped });
        process.stdout.write(
          `  fanout ${count} workers: ${(wallMs / 1000).toFixed(2)} s (bound ${(boundMs / 1000).toFixed(2)} s, ×${(wallMs / boundMs).toFixed(2)}), ${(cpuMs / options.size).toFixed(2)} ms CPU/refresh\n`,
        );
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }
    // CPU per refresh from the single-worker run: the least polling overhead per refresh.
    const single = runs[0] as { cpuMs: number; dueTokens: number } | undefined;
    if (single !== undefined) {
      const perRefresh = single.cpuMs / single.dueTokens;
      results.add(
        'fanout',
        'fanout.refreshesPerVcpu',
        'refreshes per second one vCPU sustains in the worker (1000 / CPU ms per refresh, 1 worker run)',
        1000 / perRefresh,
        'refreshes/s',
        { dueTokens: single.dueTokens },
      );
    }
    results.detail('fanout', runs);
    writeUnitsBeforeAndAfter(options, results, world.tableName);
  } finally {
    queueClient.destroy();
    await sqs.stop();
    await secrets.stop();
    await world.stop();
  }
}

/** Runs the write-units probe against this tree and an export of `beforeCommit`. */
function writeUnitsBeforeAndAfter(options: FanoutOptions, results: Results, tableName: string): void {
  const root = resolve('.');
  const before = mkdtempSync(join(tmpdir(), 'bench-before-'));
  try {
    const archive = execFileSync('git', ['archive', options.beforeCommit, 'shared', 'package.json', 'tsconfig.json']);
    execFileSync('tar', ['-x', '-C', before], { input: archive });
    symlinkSync(join(root, 'node_modules'), join(before, 'node_modules'));
    cpSync(join(root, PROBE), join(before, PROBE));
    const env = { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: options.endpoint, TABLE_NAME: tableName };
    for (const [version, cwd] of [
      ['after', root],
      ['before', before],
    ] as const) {
      for (const episodes of [0, 5]) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', PROBE], {
          cwd,
          env: { ...env, FAILURE_EPISODES: String(episodes) },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const measured = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { total: number; historyEntries: number };
        const params = {
          version,
          commit: version === 'before' ? options.beforeCommit : 'this tree',
          historyEntries: measured.historyEntries,
        };
        results.add(
          'fanout',
          `fanout.writeUnits.${version}.${episodes === 0 ? 'healthy' : 'afterFailures'}`,
          `write units per routine refresh (table + due index), ${version}, history of ${measured.historyEntries} entries`,
          measured.total,
          'write units',
          params,
        );
        process.stdout.write(
          `  write units ${version}, ${measured.historyEntries} history entries: ${measured.total}\n`,
        );
      }
    }
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
}
