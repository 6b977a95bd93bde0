/**
 * A refresh sweep in its own process, wired as `functions/refresh-worker.ts` is
 * (`wire(loadConfig()).refresh`: DynamoDB, Secrets Manager, the HTTP OAuth client), except that
 * time is the emulator's instant the parent sends with each command and notifications are printed as
 * lines (the parent counts them; a SIGKILLed process says nothing more). Each token call prints a
 * `progress` line as it leaves.
 *
 * Command `{ op: 'sweep', now, concurrency }`: one `sweepDueTokens`; answers `{ summary }`.
 */
import '#bench/lib/environment.js';
import { reportProgress, serveWorker, stdoutNotifications } from '#bench/lib/worker-process.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

let now = 0;
const config = loadConfig();
const production = wire(config, { clock: () => now }).refresh;
const deps = {
  ...production,
  // Each token call is announced as it leaves, so the parent can aim a kill into a refresh.
  oauth: {
    refresh: (input: { serverEndpoint: string; refreshToken: string }) => {
      reportProgress('token_call');
      return production.oauth.refresh(input);
    },
  },
  notifications: stdoutNotifications,
};

serveWorker(async (command) => {
  now = Number(command.now);
  const summary = await sweepDueTokens(
    {
      remainingMs: () => 60_000,
      concurrency: Number(command.concurrency ?? config.REFRESH_SWEEP_CONCURRENCY),
      maxKeys: 5000,
    },
    deps,
  );
  return { summary };
});
