import type { Logger } from '@aws-lambda-powertools/logger';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { type DispatchDeps, dispatchDueTokens } from '#shared/core/use-cases/dispatch-due-tokens.js';
import { scheduledHandler } from '#shared/edge/scheduled-handler.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { wireDispatch } from '#shared/runtime/dispatch-wiring.js';

export interface DispatchRefreshesDeps {
  readonly dispatch: DispatchDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  readonly config: Pick<
    Config,
    | 'REFRESH_SWEEP_MAX_KEYS'
    | 'REFRESH_CALLS_PER_SECOND'
    | 'REFRESH_ON_DEMAND_PERCENT'
    | 'REFRESH_DISPATCH_INTERVAL_SECONDS'
  >;
}

/**
 * EventBridge Scheduler target: reads the due index and hands the due token sets to the refresh queue,
 * one interval's worth of the app's call budget spread over the interval, where the refresh workers (`functions/refresh-worker.ts`) take them. It spends no token and
 * writes nothing to the table; the summary is logged, published as metrics and returned.
 */
export function makeDispatchRefreshes(deps: DispatchRefreshesDeps) {
  const { dispatch, logger, metrics, config } = deps;
  const budget = {
    callsPerSecond: config.REFRESH_CALLS_PER_SECOND,
    onDemandShare: config.REFRESH_ON_DEMAND_PERCENT / 100,
    intervalMs: config.REFRESH_DISPATCH_INTERVAL_SECONDS * 1000,
  };
  return scheduledHandler(() => dispatchDueTokens({ maxKeys: config.REFRESH_SWEEP_MAX_KEYS, budget }, dispatch), {
    logger,
    metrics,
  });
}

export const handler = makeDispatchRefreshes(wireDispatch(loadConfig()));
