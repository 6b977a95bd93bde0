import { performance } from 'node:perf_hooks';
import { seededRandom } from '#bench/lib/stats.js';
import { WorkerProcess } from '#bench/lib/worker-process.js';
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
  /** One process SIGKILLs itself at a seeded point of every round after the first (`planDeath`). */
  readonly kill: boolean;
  /** Quiet rounds at the end (no kills), so interrupted refreshes are taken over and concluded. */
  readonly settleRounds: number;
  /** Latency of every token call: the window in which a kill lands between "sent" and "stored". */
  readonly tokenLatencyMs: number;
  readonly seed: number;
}

const WORKER = 'bench/workers/sweep-worker.ts';

/** Where a process kills itself (`dieAt` of `bench/workers/sweep-worker.ts`). */
type DieAt = { readonly point: 'token_answer' | 'lease'; readonly nth: number } | { readonly point: 'end' };

/**
 * One death per round, the process and the point seeded: every other death in the middle of a refresh
 * — once the answer to the process's 1st, 2nd or 3rd token call has arrived, before it is stored — the
 * others outside one: just before its 1st to 4th lease (before its first refresh, or between two), or
 * after its last refresh.
 */
function planDeath(
  candidates: readonly WorkerProcess[],
  random: () => number,
  midRefresh: boolean,
): { victim: WorkerProcess; dieAt: DieAt } {
  const victim = candidates[Math.floor(random() * candidates.length)] as WorkerProcess;
  if (midRefresh) return { victim, dieAt: { point: 'token_answer', nth: 1 + Math.floor(random() * 3) } };
  const at = Math.floor(random() * 5);
  return { victim, dieAt: at === 4 ? { point: 'end' } : { point: 'lease', nth: at + 1 } };
}

/**
 * Chaos 2: sweep processes (real child processes, wired as the Lambda) refreshing the same portals at
 * the same time; with `kill`, one of them is SIGKILLed at a seeded point of every round — before a
 * lease, between the server's answer and the write, or after its last refresh — and a fresh process
 * takes its place. The points are the process's own (its nth token answer, its nth lease), so where a
 * kill lands does not depend on how loaded the machine is. Interrupted refreshes must be taken over and reported by the next
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
  let plannedDeaths = 0;
  let killedMidSweep = 0;
  let duplicateRefreshes = 0;
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
      // With kills, each process refreshes one token set at a time: the kill then interrupts exactly the
      // refresh it is aimed at, never another one of the same process whose write is in flight.
      const planned = kill ? planDeath(workers, random, plannedDeaths++ % 2 === 0) : undefined;
      const pending = workers.map((worker) =>
        worker.request({
          op: 'sweep',
          now,
          concurrency: kill ? 1 : 2,
          ...(worker === planned?.victim ? { dieAt: planned.dieAt } : {}),
        }),
      );
      const answers = await Promise.all(pending);
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
        } else if (worker === planned?.victim) killedMidSweep += 1;
        else unhandled.push(`worker failed: ${JSON.stringify(answer).slice(0, 300)}`);
      }
      // Leases make every due token set one refresh per round, however many processes sweep it.
      for (const entry of Object.values(world.emulator.counters.refreshes))
        if (entry.ok > 1) duplicateRefreshes += entry.ok - 1;
      // A kill whose moment never came this round (fewer token calls or leases) did not happen.
      const victim = planned?.victim;
      const died = answers[workers.findIndex((w) => w === victim)]?.type === 'crash';
      if (victim !== undefined && died) {
        await victim.exited;
        // What it printed before it died (its stdout is read to the end by now) counts too.
        drain(victim);
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
