import type { CredentialsHealth } from '#shared/core/ports/credentials-health.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';

export interface WatchCredentialsOptions {
  readonly health: CredentialsHealth;
  readonly now: () => number;
  /** At most one record per this interval and process: a write per refresh would double their cost. */
  readonly everyMs: number;
  readonly logger: Logger;
}

/**
 * The authorization-server client, recording in `CredentialsHealth` when our client credentials were
 * accepted (any successful grant). Recording never fails the grant: the pair it returns is what
 * matters, and a missed record only delays telling "app not installed" from "credentials wrong".
 *
 * @example
 * const oauth = watchCredentials(new HttpBitrixOAuthClient(options), { health, now, everyMs: 60_000, logger });
 */
export function watchCredentials(inner: BitrixOAuthClient, options: WatchCredentialsOptions): BitrixOAuthClient {
  let recordedAt = Number.NEGATIVE_INFINITY;
  const accepted = async (): Promise<void> => {
    const now = options.now();
    if (now - recordedAt < options.everyMs) return;
    recordedAt = now;
    try {
      await options.health.recordAccepted(now);
    } catch (error) {
      recordedAt = Number.NEGATIVE_INFINITY;
      options.logger.warn('credentials acceptance not recorded', { error });
    }
  };
  return {
    exchangeCode: async (input) => {
      const issued = await inner.exchangeCode(input);
      await accepted();
      return issued;
    },
    refresh: async (input) => {
      const issued = await inner.refresh(input);
      await accepted();
      return issued;
    },
  };
}

/** Whether our credentials were accepted after `since` (false when that cannot be read). */
export async function credentialsAcceptedSince(health: CredentialsHealth | undefined, since: number): Promise<boolean> {
  if (health === undefined) return false;
  try {
    return ((await health.lastAcceptedAt()) ?? Number.NEGATIVE_INFINITY) > since;
  } catch {
    return false;
  }
}
