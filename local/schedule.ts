/**
 * A scheduled function on a timer, as EventBridge Scheduler would run it, for the local host: every
 * `everyMs` **of the service's clock**. With the real clock that is an ordinary interval; with the
 * emulator's clock a jump (+1 hour on the emulator page) makes the next run come at once, as if that
 * hour had passed. Runs never overlap; a failed run is reported and the timer goes on.
 */

export interface ScheduleOptions {
  readonly everyMs: number;
  /** The clock the service runs on. */
  readonly clock: () => number;
  /** Real delay of the first run: soon after start, for whatever fell due meanwhile. @default 5000 */
  readonly firstRunAfterMs?: number;
  /** How often (real time) the clock is looked at between runs. @default 1000 */
  readonly pollMs?: number;
  /** Told about each run's result or failure. */
  readonly onResult?: (result: unknown) => void;
  readonly onError?: (error: unknown) => void;
}

export interface Schedule {
  /** Stops the timer and waits for a run in progress (it may hold leases: let it finish). */
  stop(): Promise<void>;
}

/**
 * @example
 * const sweep = schedule(() => handler(event, context), { everyMs: 60_000, clock: () => emulator.clock.now() });
 * // … on shutdown:
 * await sweep.stop();
 */
export function schedule(run: () => Promise<unknown>, options: ScheduleOptions): Schedule {
  const pollMs = options.pollMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let lastRunAt = options.clock();
  const start = () => {
    lastRunAt = options.clock();
    running = run()
      .then(
        (result) => options.onResult?.(result),
        (error: unknown) => options.onError?.(error),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(check, pollMs);
      });
  };
  const check = () => {
    if (stopped) return;
    if (options.clock() - lastRunAt >= options.everyMs) start();
    else timer = setTimeout(check, pollMs);
  };
  timer = setTimeout(start, Math.min(options.everyMs, options.firstRunAfterMs ?? 5000));
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
