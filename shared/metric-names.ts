/**
 * Names of the custom CloudWatch metrics (Powertools Metrics, EMF) that alarms watch. The code that
 * publishes a metric and the CDK alarm on it both take the name from here, so a rename cannot break
 * an alarm silently. Metrics are published with the `service` dimension only unless noted; alarms
 * match dimensions exactly.
 *
 * @example
 * metrics.count(METRIC_NAMES.sweepBacklog, summary.backlog);
 */
export const METRIC_NAMES = {
  /** Token sets refreshed (count). */
  tokensRefreshed: 'TokensRefreshed',
  /** Failed refreshes (count), published with an extra `category` dimension. */
  refreshFailed: 'RefreshFailed',
  /** A refreshed pair that could not be stored (count), with an extra `parked` dimension. */
  lostWrite: 'LostWrite',
  /** Due token sets one sweep left for the next run (count per sweep). */
  sweepBacklog: 'SweepBacklog',
  /** Wall time of one sweep (milliseconds). */
  sweepDuration: 'SweepDuration',
  /** Parked install claims still waiting after a run of process-parked-events (count per run). */
  parkedEventsBacklog: 'ParkedEventsBacklog',
} as const;

/** Default CloudWatch namespace of those metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Bitrix24TokenService';
