import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';

/** What the refresh workers did since the last `take`, in the words of a sweep's summary. */
export interface WorkerTally {
  readonly refreshed: number;
  readonly failed: { readonly total: number; readonly byCategory: Readonly<Record<string, number>> };
  readonly leaseHeld: number;
}

/**
 * Metrics that go nowhere but are counted, so the local host can print one line per worker batch
 * (`[refresh-worker] refreshed 1, failed 1 (invalid_grant 1)`) from the metrics the refresh path
 * already records.
 */
export class TallyMetrics implements MetricsRecorder {
  private refreshed = 0;
  private leaseHeld = 0;
  private byCategory: Record<string, number> = {};

  count(name: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    if (name === METRIC_NAMES.tokensRefreshed) this.refreshed += value;
    else if (name === METRIC_NAMES.sweepLeaseHeld) this.leaseHeld += value;
    else if (name === METRIC_NAMES.refreshFailed) {
      const category = dimensions?.category ?? 'unknown';
      this.byCategory[category] = (this.byCategory[category] ?? 0) + value;
    }
  }

  milliseconds(): void {}

  /** The counts so far, and a fresh start. */
  take(): WorkerTally {
    const byCategory = this.byCategory;
    const tally = {
      refreshed: this.refreshed,
      failed: { total: Object.values(byCategory).reduce((sum, n) => sum + n, 0), byCategory },
      leaseHeld: this.leaseHeld,
    };
    this.refreshed = 0;
    this.leaseHeld = 0;
    this.byCategory = {};
    return tally;
  }
}
