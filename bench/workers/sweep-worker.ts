/**
 * A refresh sweep in its own process, wired as `functions/refresh-worker.ts` is
 * (`wire(loadConfig()).refresh`: DynamoDB, Secrets Manager, the HTTP OAuth client), except that
 * time is the emulator's instant the parent sends with each command and notifications are printed as
 * lines (the parent counts them; a SIGKILLed process says nothing more). Each token call prints a
 * `progress` line as it leaves.
 *
 * Command `{ op: 'sweep', now, concurrency, dieAt? }`: one `sweepDueTokens`; answers `{ summary }`.
 * `dieAt` makes the process SIGKILL itself at a given point of this sweep, as a Lambda timeout or an
 * out-of-memory kill would, but at a moment that does not depend on how loaded the machine is:
 * - `{ point: 'token_answer', nth }`: once the answer to its nth token call has arrived (the server
 *   has spent the token), before anything is stored;
 * - `{ point: 'lease', nth }`: just before it takes its nth lease (before its first refresh, or
 *   between two);
 * - `{ point: 'end' }`: after its last refresh, before it answers.
 */
import '#bench/lib/environment.js';
import { reportProgress, serveWorker, stdoutNotifications } from '#bench/lib/worker-process.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

type DiePoint = { readonly point: 'token_answer' | 'lease'; readonly nth: number } | { readonly point: 'end' };

let now = 0;
let dieAt: DiePoint | undefined;
let tokenCalls = 0;
let leases = 0;
const die = (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => undefined);
};
const config = loadConfig();
const production = wire(config, { clock: () => now }).refresh;
const repository = production.repository;
const deps = {
  ...production,
  repository: {
    getTokenSet: (...args: Parameters<typeof repository.getTokenSet>) => repository.getTokenSet(...args),
    completeRefresh: (...args: Parameters<typeof repository.completeRefresh>) => repository.completeRefresh(...args),
    recordFailure: (...args: Parameters<typeof repository.recordFailure>) => repository.recordFailure(...args),
    releaseLease: (...args: Parameters<typeof repository.releaseLease>) => repository.releaseLease(...args),
    readHistory: (...args: Parameters<typeof repository.readHistory>) => repository.readHistory(...args),
    writeHistory: (...args: Parameters<typeof repository.writeHistory>) => repository.writeHistory(...args),
    queryDue: (...args: Parameters<typeof repository.queryDue>) => repository.queryDue(...args),
    dueShards: repository.dueShards,
    acquireLease: async (...args: Parameters<typeof repository.acquireLease>) => {
      leases += 1;
      if (dieAt?.point === 'lease' && dieAt.nth === leases) await die();
      return repository.acquireLease(...args);
    },
  },
  // Each token call is announced as it leaves, so the parent can aim a kill into a refresh.
  oauth: {
    refresh: async (input: { serverEndpoint: string; refreshToken: string }) => {
      reportProgress('token_call');
      tokenCalls += 1;
      const nth = tokenCalls;
      const answer = production.oauth.refresh(input);
      if (dieAt?.point === 'token_answer' && dieAt.nth === nth) {
        await answer.catch(() => undefined);
        await die();
      }
      return answer;
    },
  },
  notifications: stdoutNotifications,
};

serveWorker(async (command) => {
  now = Number(command.now);
  dieAt = command.dieAt as DiePoint | undefined;
  tokenCalls = 0;
  leases = 0;
  const summary = await sweepDueTokens(
    {
      remainingMs: () => 60_000,
      concurrency: Number(command.concurrency ?? config.REFRESH_SWEEP_CONCURRENCY),
      maxKeys: 5000,
    },
    deps,
  );
  if (dieAt?.point === 'end') await die();
  return { summary };
});
