import { performance } from 'node:perf_hooks';
import { median, seededRandom } from '#bench/lib/stats.js';
import { planKill, WorkerProcess } from '#bench/lib/worker-process.js';
import { World } from '#bench/lib/world.js';
import { startSecretsManagerServer } from '#local/secrets-manager-server.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';
import type { SweepSummary } from '#shared/core/use-cases/sweep-due-tokens.js';
import { type ChaosReport, judgeChains } from './verdict.js';

export interface ProcessChaosOptions {
  readonly endpoint: string;
  readonly portals: number;
  /** Sweep processes running at the same time. */
  readonly processes: number;
  /** Rounds; each starts 50 minutes after the previous, when every token set is due again. */
  readonly rounds: number;
  /** SIGKILL one process at a seeded moment of every round (after the first). */
  readonly kill: boolean;
  /** Quiet rounds at the end (no kills), so interrupted refreshes are taken over and concluded. */
  readonly settleRounds: number;
  /** Latency of every token call: the window in which a kill lands between "sent" and "stored". */
  readonly tokenLatencyMs: number;
  readonly seed: number;
}

const WORKER = 'bench/workers/sweep-worker.ts';

/**
 * Chaos 2: sweep processes (real child processes, wired as the Lambda) refreshing the same portals at
 * the same time; with `kill`, one of them is SIGKILLed at a random moment of every round — before its
 * lease, holding it, while the server rotates the token, between answer and write, or after — and a
 * fresh process takes its place. Interrupted refreshes must be taken over and reported by the next
 * sweep; a chain whose new pair died with the process must end `reauth_required` with the reason
 * `invalid_grant_after_interrupted_refresh`, never silently.
 */
export async function runProcessChaos(options: ProcessChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const world = await World.start({ endpoint: options.endpoint, name: 'chaos-processes' });
  const app = world.emulator.app();
  const secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  const env = world.processEnv(secrets.endpoint);
  const random = seededRandom(options.seed);
  let workers: WorkerProcess[] = [];
  const notifications: TokenStatusChange[] = [];
  const unhandled: string[] = [];
  let kills = 0;
  let killedMidSweep = 0;
  let duplicateRefreshes = 0;
  const durations: number[] = [];
  const summaries = { due: 0, refreshed: 0, failed: 0, leaseHeld: 0, skipped: 0 };
  const drain = (worker: WorkerProcess) => {
    notifications.push(...(worker.notifications.splice(0) as TokenStatusChange[]));
    for (const crash of worker.crashes.splice(0)) unhandled.push(`worker crashed: ${crash.slice(0, 300)}`);
  };
  try {
    const keys = await world.seedChains(world.addPortals(options.portals), { due: false, installations: true });
    workers = await Promise.all(Array.from({ length: options.processes }, () => WorkerProcess.start(WORKER, env)));
    world.emulator.faults.set('token', { latencyMs: options.tokenLatencyMs });

    const round = async (kill: boolean) => {
      world.emulator.clock.advance(50 * 60_000);
      world.emulator.resetCounters();
      const now = world.clock();
      const t0 = performance.now();
      const pending = workers.map((worker) => worker.request({ op: 'sweep', now, concurrency: 2 }));
      const typical = median(durations);
      const planned = kill
        ? planKill(workers, random, {
            tokenLatencyMs: options.tokenLatencyMs,
            typicalRoundMs: Number.isFinite(typical) ? typical : 500,
          })
        : undefined;
      const answers = await Promise.all(pending);
      if (!kill) durations.push(performance.now() - t0);
      for (const [index, answer] of answers.entries()) {
        const worker = workers[index];
        if (worker === undefined) continue;
        drain(worker);
        if (answer.type === 'result') {
          const summary = answer.summary as SweepSummary;
          summaries.due += summary.due;
          summaries.refreshed += summary.refreshed;
          summaries.failed += summary.failed.total;
          summaries.leaseHeld += summary.leaseHeld;
          summaries.skipped += summary.skipped;
          const internal = summary.failed.byCategory.internal ?? 0;
          if (internal > 0) unhandled.push(`a sweep counted ${internal} internal failures`);
        } else if (planned?.fired() === true && worker === planned.victim()) killedMidSweep += 1;
        else unhandled.push(`worker failed: ${JSON.stringify(answer).slice(0, 300)}`);
      }
      // Leases make every due token set one refresh per round, however many processes sweep it.
      for (const entry of Object.values(world.emulator.counters.refreshes))
        if (entry.ok > 1) duplicateRefreshes += entry.ok - 1;
      // A kill whose moment never came this round does not happen.
      planned?.cancel();
      const victim = planned?.victim();
      if (planned?.fired() === true && victim !== undefined) {
        await victim.exited;
        kills += 1;
        const replacement = await WorkerProcess.start(WORKER, env);
        workers = workers.map((w) => (w === victim ? replacement : w));
      }
    };

    await round(false);
    for (let r = 1; r < options.rounds; r += 1) await round(options.kill);
    for (let r = 0; r < options.settleRounds; r += 1) await round(false);

    const verdict = await judgeChains(world.emulator, world.repository, keys, notifications);
    const events: Record<string, number> = {};
    for (const change of notifications) events[change.event] = (events[change.event] ?? 0) + 1;
    return {
      name: options.kill ? 'processes killed mid-sweep' : 'concurrent sweep processes',
      gate: {
        lostSilently: verdict.lostSilently,
        falseReauth: verdict.falseReauth,
        unhandledErrors: unhandled.length,
        http5xx: 0,
        writesFromRejectedInput: 0,
      },
      observed: {
        portals: options.portals,
        processes: options.processes,
        rounds: options.rounds,
        settleRounds: options.settleRounds,
        tokenLatencyMs: options.tokenLatencyMs,
        kills,
        killedMidSweep,
        duplicateRefreshes,
        sweeps: summaries,
        notifications: events,
        chains: verdict,
        unhandled: unhandled.slice(0, 10),
        seconds: Math.round((performance.now() - started) / 1000),
      },
    };
  } finally {
    for (const worker of workers) await worker.stop();
    await secrets.stop();
    await world.stop();
  }
}
