import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { schedule } from '#local/schedule.js';

/** A clock that moves only when told, like the emulator's frozen one. */
function manualClock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await sleep(10);
}

describe('schedule', () => {
  it('runs once soon after start, then only when the service clock has moved a whole interval', async () => {
    // Prepare
    const clock = manualClock();
    let runs = 0;
    const timer = schedule(async () => (runs += 1), {
      everyMs: 60_000,
      clock: clock.now,
      firstRunAfterMs: 0,
      pollMs: 5,
    });

    // Act
    await until(() => runs === 1);
    await sleep(50);
    const beforeJump = runs;
    clock.advance(3_600_000);
    await until(() => runs === 2);
    await sleep(50);
    const afterJump = runs;
    await timer.stop();

    // Assess
    expect(beforeJump).toBe(1);
    expect(afterJump).toBe(2);
  });

  it('never overlaps a run, reports failures and goes on, and waits for a run in progress on stop', async () => {
    // Prepare
    const clock = manualClock();
    const errors: unknown[] = [];
    let active = 0;
    let most = 0;
    let runs = 0;
    let release = () => {};
    const timer = schedule(
      async () => {
        active += 1;
        most = Math.max(most, active);
        runs += 1;
        try {
          if (runs === 1) throw new Error('first run fails');
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        } finally {
          active -= 1;
        }
      },
      { everyMs: 1000, clock: clock.now, firstRunAfterMs: 0, pollMs: 5, onError: (error) => errors.push(error) },
    );

    // Act
    await until(() => errors.length === 1);
    clock.advance(1000);
    await until(() => runs === 2);
    clock.advance(5000);
    await sleep(50);
    let stopped = false;
    const stopping = timer.stop().then(() => {
      stopped = true;
    });
    await sleep(20);
    const stoppedBeforeRelease = stopped;
    release();
    await stopping;

    // Assess
    expect(errors).toHaveLength(1);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    expect(stoppedBeforeRelease).toBe(false);
    expect(stopped).toBe(true);
  });
});
