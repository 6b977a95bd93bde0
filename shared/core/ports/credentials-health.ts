import type { EpochMs } from '#shared/core/domain/time.js';

/**
 * When the authorization server last accepted the client credentials this process uses now (an
 * acceptance of other credentials, before a rotation, does not count). `invalid_client` means either
 * "our credentials are wrong" or "the app is not installed on that portal" (docs/PROTOCOL.md §3.1);
 * the service tells them apart by asking whether the credentials were accepted since a refusal.
 *
 * @example
 * if ((await health.lastAcceptedAt()) ?? 0) > refusedAt) markAppNotInstalled();
 */
export interface CredentialsHealth {
  /** Records an acceptance at `at` (never moves backwards). */
  recordAccepted(at: EpochMs): Promise<void>;
  lastAcceptedAt(): Promise<EpochMs | undefined>;
}
