/**
 * A consumer Lambda of this service in its own process: the consumer library built by
 * `createTokenConsumer` from the environment (as `grantConsumer` sets it), refreshing through the one
 * refresh path, except that time is the emulator's instant the parent sends with each command and
 * notifications are printed as lines.
 *
 * Command `{ op: 'round', now, memberIds }`: one REST call (`profile`) per portal, in order; answers
 * `{ ok, failed, errors }`.
 */
import '#bench/lib/environment.js';
import { reportProgress, serveWorker, stdoutNotifications } from '#bench/lib/worker-process.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { loadConfig } from '#shared/runtime/config.js';
import { createTokenConsumer } from '#shared/runtime/consumer.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';

let now = 0;
const clock = () => now;
const config = loadConfig();
const production = wire(config, { clock, logger: powertoolsLogger('SILENT') }).refresh;
const { rest } = createTokenConsumer({
  config,
  refresh: {
    ...production,
    // Measurement only: each token call is announced as it leaves (the parent may aim a kill at it).
    oauth: {
      refresh: (input: { serverEndpoint: string; refreshToken: string }) => {
        reportProgress('token_call');
        return production.oauth.refresh(input);
      },
    },
    notifications: stdoutNotifications,
  },
  logger: SILENT_LOGGER,
});

serveWorker(async (command) => {
  now = Number(command.now);
  const memberIds = (command.memberIds as string[] | undefined) ?? [];
  let ok = 0;
  const errors: Record<string, number> = {};
  for (const memberId of memberIds) {
    try {
      await rest.call(memberId, 'profile');
      ok += 1;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'unknown';
      const reason =
        typeof error === 'object' && error !== null && 'reason' in error
          ? `:${String((error as { reason: unknown }).reason)}`
          : '';
      errors[`${name}${reason}`] = (errors[`${name}${reason}`] ?? 0) + 1;
    }
  }
  return { ok, failed: memberIds.length - ok, errors };
});
