import type { Logger } from '@aws-lambda-powertools/logger';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { type SweepDeps, sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { scheduledHandler } from '#shared/edge/scheduled-handler.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface RefreshTokensDeps {
  readonly refresh: SweepDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  readonly config: Pick<
    Config,
    'REFRESH_SWEEP_MARGIN_SECONDS' | 'REFRESH_SWEEP_CONCURRENCY' | 'REFRESH_SWEEP_MAX_KEYS'
  >;
}

/**
 * EventBridge Scheduler target (every 5 minutes): one sweep of the due index. The scheduled event
 * carries nothing the sweep needs; the summary is logged, published as metrics and returned.
 */
export function makeRefreshTokens(deps: RefreshTokensDeps) {
  const { refresh, logger, metrics, config } = deps;
  // No refresh starts in the last seconds of the invocation: a refresh cut off by the timeout would be
  // an interrupted one (lease left behind, maybe a spent token).
  const marginMs = config.REFRESH_SWEEP_MARGIN_SECONDS * 1000;
  return scheduledHandler(
    (context) =>
      sweepDueTokens(
        {
          remainingMs: () => context.getRemainingTimeInMillis() - marginMs,
          concurrency: config.REFRESH_SWEEP_CONCURRENCY,
          maxKeys: config.REFRESH_SWEEP_MAX_KEYS,
        },
        refresh,
      ),
    { logger, metrics },
  );
}

export const handler = makeRefreshTokens(wire(loadConfig()));
