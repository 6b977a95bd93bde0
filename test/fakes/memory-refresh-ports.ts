import { MINUTE } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { NotificationPublisher, TokenStatusChange } from '#shared/core/ports/notification-publisher.js';
import type { RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';
import type { RefreshSettings } from '#shared/core/use-cases/refresh-token-set.js';

/** Keeps every notification, for "exactly once per transition" assertions. */
export class MemoryNotifications implements NotificationPublisher {
  readonly published: TokenStatusChange[] = [];
  failWith: Error | undefined;

  async publish(change: TokenStatusChange): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.published.push(change);
  }

  events(memberId?: string): string[] {
    return this.published.filter((c) => memberId === undefined || c.memberId === memberId).map((c) => c.event);
  }
}

/** Sums counts by name (and by name plus dimensions). */
export class MemoryMetrics implements MetricsRecorder {
  readonly counts = new Map<string, number>();
  readonly durations = new Map<string, number[]>();

  count(name: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    const id =
      dimensions === undefined
        ? name
        : `${name}{${Object.entries(dimensions)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + value);
  }

  milliseconds(name: string, value: number): void {
    this.durations.set(name, [...(this.durations.get(name) ?? []), value]);
  }

  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}

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

/** Refresh settings for tests: the production defaults unless overridden. */
export function testRefreshSettings(overrides: Partial<RefreshSettings> = {}): RefreshSettings {
  return {
    policy: {
      mode: 'always_warm',
      accessLeadMs: 15 * MINUTE,
      accessJitterMs: 5 * MINUTE,
      refreshLeadMs: 7 * 24 * 60 * MINUTE,
      refreshJitterMs: 24 * 60 * MINUTE,
      warmWindowMs: 24 * 60 * MINUTE,
    },
    failures: {
      degradedAfter: 3,
      retry: { baseMs: MINUTE, maxMs: 30 * MINUTE },
      paymentRetryMs: 24 * 60 * MINUTE,
      takeoverGraceMs: 2 * MINUTE,
    },
    refreshTokenLifetimeMs: 30 * 24 * 60 * MINUTE,
    leaseMs: 30_000,
    writeAttempts: 4,
    leaseWaitMs: 34_000,
    onDemandMarginMs: 5 * MINUTE,
    ...overrides,
  };
}
