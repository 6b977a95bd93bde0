/**
 * A consumer Lambda of this service in its own process, with the token vendor it calls running in the
 * same process: the consumer library (`createTokenConsumer`) reads the table itself and asks the
 * deployed vendor handler (`functions/token-vendor.ts`, production wiring), which refreshes through the
 * one refresh path. The process stands for a consumer whose vendor invocation runs in a container that
 * can die with it, which is what a SIGKILL of the process tests. Time is the emulator's instant the
 * parent sends with each command, and notifications are printed as lines.
 *
 * Command `{ op: 'round', now, memberIds }`: one REST call (`profile`) per portal, in order; answers
 * `{ ok, failed, errors }`.
 */
import '#bench/lib/environment.js';
import { reportProgress, serveWorker, stdoutNotifications } from '#bench/lib/worker-process.js';
import { makeTokenVendor } from '#functions/token-vendor.js';
import { directInvoke } from '#local/lambda-invoke-server.js';
import { createTokenConsumer, loadConsumerSettings, TokenVendorClient } from '#shared/consumer/index.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';

let now = 0;
const clock = () => now;
const config = loadConfig();
const production = wire(config, { clock, logger: powertoolsLogger('SILENT') });
const refresh = {
  ...production.refresh,
  // Measurement only: each token call is announced as it leaves (the parent may aim a kill at it).
  oauth: {
    refresh: (input: { serverEndpoint: string; refreshToken: string }) => {
      reportProgress('token_call');
      return production.refresh.oauth.refresh(input);
    },
  },
  notifications: stdoutNotifications,
};
const vendor = makeTokenVendor({
  vendor: { ...production.vendor, refresh },
  logger: powertoolsLogger('SILENT'),
  metrics: production.metrics,
  config,
});
const { rest } = createTokenConsumer({
  settings: loadConsumerSettings({ ...process.env, BITRIX24_TOKEN_TABLE: config.TABLE_NAME }),
  vendor: new TokenVendorClient(directInvoke(vendor, 'token-vendor')),
  now: clock,
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
