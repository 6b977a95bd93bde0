/** How to build the emulator's clock. */
export interface EmulatorClockOptions {
  /** The emulator's "now" at creation, epoch ms. @default the real time */
  readonly startAt?: number;
  /**
   * Stand still instead of following real time. A frozen clock only moves through `advance`/`set`,
   * which makes expiry tests exact.
   * @default false
   */
  readonly frozen?: boolean;
}

/**
 * The emulator's notion of time. Every lifetime (code 30 s, access 1 h, refresh 30 days), the leaky
 * bucket and the `time` blocks read it, so tests can jump a month ahead without waiting.
 *
 * By default it follows real time plus an offset: `advance(ms)` grows the offset.
 *
 * @example
 * const clock = new EmulatorClock({ frozen: true, startAt: Date.UTC(2026, 0, 1) });
 * clock.advance(31_000); // a code issued before is now expired
 */
export class EmulatorClock {
  private offsetMs: number;
  private frozenAt: number | undefined;

  constructor(options: EmulatorClockOptions = {}) {
    const real = Date.now();
    const start = options.startAt ?? real;
    this.offsetMs = start - real;
    this.frozenAt = options.frozen === true ? start : undefined;
  }

  /** The emulator's current time, epoch ms. */
  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Current time in unix seconds, as Bitrix24 writes `expires` and `ts`. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Moves time forward (or back, with a negative value). */
  advance(ms: number): void {
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  /** Jumps to an absolute instant, epoch ms. */
  set(epochMs: number): void {
    if (this.frozenAt !== undefined) this.frozenAt = epochMs;
    else this.offsetMs = epochMs - Date.now();
  }

  /** Whether the clock stands still between `advance`/`set` calls. */
  get frozen(): boolean {
    return this.frozenAt !== undefined;
  }
}
