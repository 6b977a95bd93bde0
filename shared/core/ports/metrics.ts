/**
 * Operational metrics (CloudWatch EMF in AWS). Names are constant (`METRIC_NAMES`); variable parts go in
 * dimensions.
 *
 * @example
 * metrics.count(METRIC_NAMES.refreshFailed, 1, { category: 'transient' });
 */
export interface MetricsRecorder {
  /** Adds `value` (default 1) to a count. */
  count(name: string, value?: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Records a duration or age in milliseconds. */
  milliseconds(name: string, value: number): void;
  /**
   * Publishes what was recorded since the last flush; the edge calls it once per invocation. Absent
   * where recording is publishing (tests, local runs).
   */
  flush?(): void;
}

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
  /** A refreshed pair parked after its writes failed, with no read able to tell whether one landed (count). */
  writeUnconfirmed: 'WriteUnconfirmed',
  /** A parked pair applied to its token set (count). */
  recoveryApplied: 'RecoveryApplied',
  /** A refresh found an expired lease left behind: an interrupted refresh (count). */
  refreshInterrupted: 'RefreshInterrupted',
  /** A token-status notification that could not be published (count). */
  notificationFailed: 'NotificationFailed',
  /** Due token sets one sweep (or dispatch) found (count per run). */
  sweepDue: 'SweepDue',
  /** Due token sets the dispatch handed to the refresh queue (count per run). */
  refreshesEnqueued: 'RefreshesEnqueued',
  /** Due token sets the rate budget let one dispatch send (count per run). */
  refreshAllowance: 'RefreshAllowance',
  /**
   * Calls to the authorization server's token endpoint (count), with a `kind` dimension: `sweep` (the
   * refresh workers) or `on_demand` (the token vendor). Sum per minute / 60 = calls per second.
   */
  authServerCalls: 'AuthServerCalls',
  /** Due token sets another worker was refreshing (count per sweep, or per queued refresh). */
  sweepLeaseHeld: 'SweepLeaseHeld',
  /** How long the oldest due token set had been due when the sweep started (milliseconds). */
  sweepOldestOverdue: 'SweepOldestOverdue',
  /** Due token sets one sweep (or dispatch) left for the next run (count per run). */
  sweepBacklog: 'SweepBacklog',
  /** Wall time of one sweep (milliseconds). */
  sweepDuration: 'SweepDuration',
  /** Parked install claims still waiting after a run of process-parked-events (count per run). */
  parkedEventsBacklog: 'ParkedEventsBacklog',
  /** Parked install claims finished by a run (count per run). */
  parkedEventsFinished: 'ParkedEventsFinished',
  /** Parked install claims dropped: refused for good or too old (count per run). */
  parkedEventsDropped: 'ParkedEventsDropped',
  /** Events acknowledged and ignored (unknown or irrelevant `event`). */
  lifecycleEventIgnored: 'LifecycleEventIgnored',
  /** Installs (event or install page) verified and stored. */
  installRegistered: 'InstallRegistered',
  /** Installs already processed (duplicate delivery or reload). */
  installDuplicate: 'InstallDuplicate',
  /** Install claims parked because the authorization server could not be reached. */
  installClaimParked: 'InstallClaimParked',
  /** Install claims refused: verification failed (forged or not ours). */
  installClaimRefused: 'InstallClaimRefused',
  /** Install claims that ended without their tokens stored, reported as `install_lost`, with a `reason` dimension. */
  installLost: 'InstallLost',
  /** Verifications refused with `invalid_client` while our credentials are in doubt (the claim is kept). */
  credentialsRefused: 'CredentialsRefused',
  /** New application tokens not stored: the claim's user not shown to be an administrator, with a `reason` dimension. */
  applicationTokenRefused: 'ApplicationTokenRefused',
  /** Install claims that could not be parked on receipt (nothing was spent; Bitrix24 got a 503). */
  installClaimUnsaved: 'InstallClaimUnsaved',
  /** Verified uninstalls. */
  portalUninstalled: 'PortalUninstalled',
  /** Uninstalls of portals never seen (acknowledged, nothing to do). */
  uninstallUnknownPortal: 'UninstallUnknownPortal',
  /**
   * Uninstalls refused: a wrong application token, or none stored and the authorization server still
   * refreshed the portal's tokens.
   */
  uninstallRefused: 'UninstallRefused',
  /** Uninstalls of a portal without a stored application token the authorization server could not settle. */
  uninstallUnproven: 'UninstallUnproven',
} as const;

/** Default CloudWatch namespace of those metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Bitrix24TokenService';
