/**
 * The app-wide budget of calls to the authorization server (docs/REFRESH.md §5). One dispatcher runs per
 * interval for the whole app, so the sweep's share of the budget is applied there, once: it sends at
 * most one interval's worth of due keys, each delayed so their refreshes start evenly spread over the
 * interval. What is left stays due in the index (a backlog carried over, never a burst). On-demand
 * refreshes for a waiting consumer never wait: a share of the ceiling is kept for them and the sweep
 * never uses it.
 */

export interface RateBudget {
  /** Ceiling of authorization-server calls per second for the whole app (`REFRESH_CALLS_PER_SECOND`). */
  readonly callsPerSecond: number;
  /** Share of the ceiling kept for on-demand refreshes, 0–0.9 (`REFRESH_ON_DEMAND_PERCENT` / 100). */
  readonly onDemandShare: number;
  /** Time between two dispatches (the schedule's rate). */
  readonly intervalMs: number;
}

/** SQS delays a message at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/** Calls per second the sweep may make: the ceiling less the on-demand share. */
export function sweepRate(budget: RateBudget): number {
  return budget.callsPerSecond * (1 - budget.onDemandShare);
}

/** Due token sets one dispatch may hand out: one interval at the sweep's rate (at least one). */
export function sweepAllowance(budget: RateBudget): number {
  return Math.max(1, Math.floor((sweepRate(budget) * budget.intervalMs) / 1000));
}

/**
 * Seconds the `index`-th key of a dispatch waits before a worker may take it: keys start evenly at the
 * sweep's rate, so refreshes never bunch at the start of an interval.
 *
 * @example
 * spreadDelaySeconds(250, { callsPerSecond: 100, onDemandShare: 0.2, intervalMs: 300_000 }); // 3
 */
export function spreadDelaySeconds(index: number, budget: RateBudget): number {
  return Math.min(MAX_DELAY_SECONDS, Math.floor(index / sweepRate(budget)));
}
