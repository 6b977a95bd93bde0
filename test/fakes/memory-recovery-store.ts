import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';

/** Parked pairs in memory; `failSaves` makes the next saves throw. */
export class MemoryRecoveryStore implements RecoveryStore {
  readonly records = new Map<string, RecoveryRecord>();
  failSaves = 0;

  async save(record: RecoveryRecord): Promise<void> {
    if (this.failSaves > 0) {
      this.failSaves -= 1;
      throw new Error('recovery store unavailable');
    }
    this.records.set(`${record.memberId}#${record.userId}`, record);
  }

  async get(key: TokenKey): Promise<RecoveryRecord | undefined> {
    return this.records.get(`${key.memberId}#${key.userId}`);
  }

  async remove(key: TokenKey, usedRefreshToken: string): Promise<void> {
    const id = `${key.memberId}#${key.userId}`;
    if (this.records.get(id)?.usedRefreshToken === usedRefreshToken) this.records.delete(id);
  }
}
