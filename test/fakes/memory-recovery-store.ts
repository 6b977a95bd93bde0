import type { TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type { ParkOutcome, RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';

/**
 * Parked pairs in memory, one per spent token, parked only while the token set (read through
 * `tokens`) still holds the spent token, as the DynamoDB store's transaction does. `failSaves` makes
 * the next saves throw.
 */
export class MemoryRecoveryStore implements RecoveryStore {
  readonly records = new Map<string, RecoveryRecord>();
  failSaves = 0;

  constructor(private readonly tokens?: { getTokenSet(key: TokenKey): Promise<TokenSet | undefined> }) {}

  async save(record: RecoveryRecord): Promise<ParkOutcome> {
    if (this.failSaves > 0) {
      this.failSaves -= 1;
      throw new Error('recovery store unavailable');
    }
    const id = slot(record, record.usedRefreshToken);
    if (this.records.has(id)) return 'already_parked';
    if (
      this.tokens !== undefined &&
      (await this.tokens.getTokenSet(record))?.refreshToken !== record.usedRefreshToken
    ) {
      return 'not_needed';
    }
    this.records.set(id, record);
    return 'parked';
  }

  async get(key: TokenKey, usedRefreshToken: string): Promise<RecoveryRecord | undefined> {
    return this.records.get(slot(key, usedRefreshToken));
  }

  async remove(key: TokenKey, usedRefreshToken: string): Promise<void> {
    this.records.delete(slot(key, usedRefreshToken));
  }
}

function slot(key: TokenKey, usedRefreshToken: string): string {
  return `${key.memberId}#${key.userId}#${usedRefreshToken}`;
}
