import { TokenConflictError } from '#shared/core/domain/errors.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import { type History, type LiveRun, withLiveRun } from '#shared/core/domain/token-history.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { type Logger, SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

export interface HistoryDeps {
  readonly store: Pick<TokenRepository, 'readHistory' | 'writeHistory'>;
  /** @default SILENT_LOGGER */
  readonly logger?: Logger | undefined;
  readonly now: () => EpochMs;
}

/** Attempts of the read-and-write when another writer of the same history was first. */
const ATTEMPTS = 2;

/**
 * Applies a change of shape (`withChain`, `withFailure`, `withRefresh` after a gap) to a token set's
 * stored history, after the token-set write it records has landed. `previous` is the token set as it
 * was before that write: its open run's figures close the run in the stored entries, and a history it
 * still carries itself (an item written before the history had an item of its own) is moved over.
 *
 * The timeline is for people: a failure here is logged and never undoes or fails the write of tokens
 * that happened before it.
 *
 * @example
 * await recordHistory(key, held, (h) => withFailure(h, { at, category, code, status }), deps);
 */
export async function recordHistory(
  key: TokenKey,
  previous: (LiveRun & { readonly history?: History | undefined }) | undefined,
  change: (history: History) => History,
  deps: HistoryDeps,
): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    try {
      const stored = await deps.store.readHistory(key);
      const entries = stored?.entries ?? previous?.history ?? [];
      const current = previous === undefined ? entries : withLiveRun(entries, previous);
      await deps.store.writeHistory(key, change(current), stored?.version ?? null, deps.now());
      return;
    } catch (error) {
      if (error instanceof TokenConflictError && attempt < ATTEMPTS) continue;
      (deps.logger ?? SILENT_LOGGER).warn('history not recorded', {
        memberId: key.memberId,
        userId: key.userId,
        error,
      });
      return;
    }
  }
}
