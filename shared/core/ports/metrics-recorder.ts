/**
 * Operational metrics (CloudWatch EMF in AWS). Names are constant; variable parts go in dimensions.
 *
 * @example
 * metrics.count('RefreshFailed', 1, { category: 'transient' });
 */
export interface MetricsRecorder {
  /** Adds `value` (default 1) to a count. */
  count(name: string, value?: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Records a duration or age in milliseconds. */
  milliseconds(name: string, value: number): void;
}
