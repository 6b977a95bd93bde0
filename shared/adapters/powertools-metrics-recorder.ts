import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';

/**
 * `MetricsRecorder` on Powertools Metrics (CloudWatch EMF). Plain counts join the invocation's
 * metrics, published by `flush()` at the end of the invocation; dimensioned ones are published at once
 * as single metrics so their dimension does not leak onto the others.
 */
export class PowertoolsMetricsRecorder implements MetricsRecorder {
  constructor(readonly metrics: Metrics) {}

  count(name: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    if (dimensions === undefined) {
      this.metrics.addMetric(name, MetricUnit.Count, value);
      return;
    }
    const single = this.metrics.singleMetric();
    single.addDimensions({ ...dimensions });
    single.addMetric(name, MetricUnit.Count, value);
  }

  milliseconds(name: string, value: number): void {
    this.metrics.addMetric(name, MetricUnit.Milliseconds, value);
  }

  /** Publishes the invocation's metrics; an invocation that recorded none publishes (and warns) nothing. */
  flush(): void {
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}
