import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireRunLock, lockPath, RunLockHeldError } from '#local/run-lock.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-lock-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const holder = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { pid: number };

describe('acquireRunLock', () => {
  it('takes a free folder with a lock file naming its pid, and removes it on release', () => {
    // Prepare
    const dir = dataDir();

    // Act
    const lock = acquireRunLock(dir, { pid: 4242, isRunning: () => true });
    const held = holder(lock.path);
    lock.release();

    // Assess
    expect(lock.path).toBe(lockPath(dir));
    expect(held.pid).toBe(4242);
    expect(existsSync(lock.path)).toBe(false);
  });

  it('refuses a folder held by a live service, naming its pid, and leaves its lock alone', () => {
    // Prepare
    const dir = dataDir();
    acquireRunLock(dir, { pid: 1111, isRunning: () => true });

    // Act
    let refused: unknown;
    try {
      acquireRunLock(dir, { pid: 2222, isRunning: (pid) => pid === 1111 });
    } catch (error) {
      refused = error;
    }

    // Assess
    expect(refused).toBeInstanceOf(RunLockHeldError);
    expect((refused as RunLockHeldError).holder.pid).toBe(1111);
    expect(holder(lockPath(dir)).pid).toBe(1111);
  });

  it('takes over a lock left by a service that is gone, and a lock file that is not one', () => {
    // Prepare
    const dir = dataDir();
    acquireRunLock(dir, { pid: 1111, isRunning: () => true });
    const other = dataDir();
    writeFileSync(lockPath(other), 'half a');

    // Act
    const taken = acquireRunLock(dir, { pid: 2222, isRunning: () => false });
    const repaired = acquireRunLock(other, { pid: 3333, isRunning: () => true });

    // Assess
    expect(holder(taken.path).pid).toBe(2222);
    expect(holder(repaired.path).pid).toBe(3333);
  });

  it('leaves a lock that another service took over when releasing', () => {
    // Prepare
    const dir = dataDir();
    const first = acquireRunLock(dir, { pid: 1111, isRunning: () => true });
    acquireRunLock(dir, { pid: 2222, isRunning: () => false });

    // Act
    first.release();

    // Assess
    expect(holder(lockPath(dir)).pid).toBe(2222);
  });
});
