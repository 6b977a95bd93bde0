import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '#shared/core/ports/metric-names.js';

/**
 * The one Powertools Metrics instance (CloudWatch EMF). CDK sets `POWERTOOLS_METRICS_NAMESPACE` and
 * `POWERTOOLS_SERVICE_NAME`; tests set `POWERTOOLS_METRICS_DISABLED=true`.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bitrix24-token-service',
});
