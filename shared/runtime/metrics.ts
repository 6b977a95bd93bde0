import { Metrics } from '@aws-lambda-powertools/metrics';
import { PowertoolsMetricsRecorder } from '#shared/adapters/powertools-metrics-recorder.js';
import { once } from '#shared/core/domain/once.js';
import { METRICS_NAMESPACE, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import { SERVICE_NAME } from './logger.js';

/**
 * The function's metrics (CloudWatch EMF through Powertools), built on first use. CDK sets
 * `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME`; local runs and tests set
 * `POWERTOOLS_METRICS_DISABLED=true` or wire a recorder of their own.
 */
export const defaultMetrics = once(
  () =>
    new PowertoolsMetricsRecorder(
      new Metrics({
        namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
        serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
      }),
    ),
);

/** Drops every metric: an operator's machine or a local run publishes none. */
export const DISCARDED_METRICS: MetricsRecorder = { count: () => undefined, milliseconds: () => undefined };
