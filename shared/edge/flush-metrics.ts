import type { MiddlewareObj } from '@middy/core';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';

/**
 * middy middleware: publishes the invocation's metrics when it ends, also when it failed (a failed
 * sweep's counts matter most). Replaces Powertools' `logMetrics` so an invocation that recorded
 * nothing publishes nothing and prints no warning.
 */
export function flushMetrics(metrics: MetricsRecorder): MiddlewareObj {
  const flush = () => {
    metrics.flush?.();
  };
  return { after: flush, onError: flush };
}
