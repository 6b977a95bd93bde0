import type { FaultTarget } from './faults.js';

/** Outcome label: `'ok'` or the `error` code the emulator answered with. */
export type Outcome = string;

/** `outcome → count`. */
export type OutcomeCounts = Record<Outcome, number>;

/** One event delivery as the emulator recorded it (no bodies: they carry tokens). */
export interface EventDeliveryRecord {
  readonly event: string;
  readonly memberId: string;
  readonly domain: string;
  /** HTTP status of the handler's answer; 0 when the request failed (refused, timed out). */
  readonly status: number;
  /** Emulator clock, epoch ms. */
  readonly at: number;
}

/**
 * What the emulator counted since start or the last reset. Only requests the emulator processed are
 * counted per grant / method; requests an injected fault answered before processing are counted under
 * `faults` only (with `applyAfter` both are counted: the request was processed).
 */
export interface CountersSnapshot {
  readonly token: {
    readonly total: number;
    /** `grant_type → outcome → count` (grant `'(none)'` when missing). */
    readonly byGrant: Record<string, OutcomeCounts>;
    /** `auth-server host → grant_type → outcome → count`. */
    readonly byHost: Record<string, Record<string, OutcomeCounts>>;
  };
  /** Successful refreshes per portal `member_id`, with the host that served them. */
  readonly refreshes: Record<string, { readonly ok: number; readonly byHost: Record<string, number> }>;
  /** Portal REST calls: `method → outcome → count` (batch sub-commands included under their method). */
  readonly rest: Record<string, OutcomeCounts>;
  /** Authorization-server `app.info`: `outcome → count`. */
  readonly appInfo: OutcomeCounts;
  /** `/oauth/authorize/`: `'redirect' | 'code_page' | error reason → count`. */
  readonly authorize: OutcomeCounts;
  readonly events: {
    /** `event name → HTTP status → count`. */
    readonly byName: Record<string, Record<string, number>>;
    /** The latest deliveries, oldest first (bounded). */
    readonly recent: readonly EventDeliveryRecord[];
  };
  readonly frameOpens: {
    readonly total: number;
    readonly byPortal: Record<string, number>;
    readonly byStatus: Record<string, number>;
  };
  /** Injected failures: `target → 'status_503' | 'malformed' | 'hang' → count`. */
  readonly faults: Record<string, OutcomeCounts>;
}

const RECENT_EVENTS_KEPT = 500;

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function child<T>(parent: Record<string, T>, key: string, make: () => T): T {
  const existing = parent[key];
  if (existing !== undefined) return existing;
  const created = make();
  parent[key] = created;
  return created;
}

/** Mutable counters behind `emulator.counters`. */
export class Counters {
  private data = Counters.empty();

  private static empty() {
    return {
      token: {
        total: 0,
        byGrant: {} as Record<string, OutcomeCounts>,
        byHost: {} as Record<string, Record<string, OutcomeCounts>>,
      },
      refreshes: {} as Record<string, { ok: number; byHost: Record<string, number> }>,
      rest: {} as Record<string, OutcomeCounts>,
      appInfo: {} as OutcomeCounts,
      authorize: {} as OutcomeCounts,
      events: { byName: {} as Record<string, Record<string, number>>, recent: [] as EventDeliveryRecord[] },
      frameOpens: { total: 0, byPortal: {} as Record<string, number>, byStatus: {} as Record<string, number> },
      faults: {} as Record<string, OutcomeCounts>,
    };
  }

  tokenRequest(host: string, grant: string, outcome: Outcome): void {
    this.data.token.total += 1;
    bump(
      child(this.data.token.byGrant, grant, () => ({})),
      outcome,
    );
    bump(
      child(
        child(this.data.token.byHost, host, () => ({})),
        grant,
        () => ({}),
      ),
      outcome,
    );
  }

  refreshSucceeded(memberId: string, host: string): void {
    const entry = child(this.data.refreshes, memberId, () => ({ ok: 0, byHost: {} }));
    entry.ok += 1;
    bump(entry.byHost, host);
  }

  rest(method: string, outcome: Outcome): void {
    bump(
      child(this.data.rest, method, () => ({})),
      outcome,
    );
  }

  appInfo(outcome: Outcome): void {
    bump(this.data.appInfo, outcome);
  }

  authorize(outcome: Outcome): void {
    bump(this.data.authorize, outcome);
  }

  event(record: EventDeliveryRecord): void {
    bump(
      child(this.data.events.byName, record.event, () => ({})),
      String(record.status),
    );
    this.data.events.recent.push(record);
    if (this.data.events.recent.length > RECENT_EVENTS_KEPT) this.data.events.recent.shift();
  }

  frameOpen(memberId: string, status: number): void {
    this.data.frameOpens.total += 1;
    bump(this.data.frameOpens.byPortal, memberId);
    bump(this.data.frameOpens.byStatus, String(status));
  }

  fault(target: FaultTarget, label: string): void {
    bump(
      child(this.data.faults, target, () => ({})),
      label,
    );
  }

  reset(): void {
    this.data = Counters.empty();
  }

  /** A deep copy: callers may keep it while the emulator goes on counting. */
  snapshot(): CountersSnapshot {
    return structuredClone(this.data);
  }
}
