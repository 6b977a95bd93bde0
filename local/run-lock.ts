import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One `npm start` per data folder. Two services on one folder would run two DynamoDB Locals on the
 * same files and overwrite each other's `endpoint.json` (the CLI would lose the first one), so the
 * folder holds a lock file created with O_EXCL that names the holder's pid. A lock whose holder is gone
 * (killed, crashed) is taken over.
 */

/** What the lock file holds. */
export interface RunLockHolder {
  readonly pid: number;
  /** When the holder started, epoch ms. */
  readonly startedAt: number;
}

export interface RunLock {
  readonly path: string;
  /** Removes the lock file if it is still ours (idempotent, synchronous: safe in an `exit` handler). */
  release(): void;
}

/** The folder is in use by a live service. */
export class RunLockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly holder: RunLockHolder,
  ) {
    super(`${path} is held by pid ${holder.pid}`);
    this.name = 'RunLockHeldError';
  }
}

export interface RunLockOptions {
  /** @default process.pid */
  readonly pid?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Whether a pid from a lock file is a live service. @default `isServiceProcess` */
  readonly isRunning?: (pid: number) => boolean;
}

/** The lock file's place in a data folder. */
export function lockPath(dataDir: string): string {
  return join(dataDir, 'serve.lock');
}

/**
 * Whether `pid` is a live process that could hold the lock: it exists and, where `/proc` tells, runs
 * the local service (a pid reused by an unrelated process after a crash does not hold it).
 */
export function isServiceProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve');
  } catch {
    // No /proc (macOS): a live pid is taken for the holder.
    return true;
  }
}

function readHolder(path: string): RunLockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { pid, startedAt } = parsed as Record<string, unknown>;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0
      ? { pid, startedAt: typeof startedAt === 'number' ? startedAt : 0 }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data folder's lock, or throws `RunLockHeldError` naming the live holder.
 *
 * @example
 * const lock = acquireRunLock('.local-data');
 * process.once('exit', () => lock.release());
 */
export function acquireRunLock(dataDir: string, options: RunLockOptions = {}): RunLock {
  const pid = options.pid ?? process.pid;
  const isRunning = options.isRunning ?? isServiceProcess;
  const path = lockPath(dataDir);
  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt += 1) {
    try {
      const holder: RunLockHolder = { pid, startedAt: (options.now ?? Date.now)() };
      writeFileSync(path, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
    }
    const holder = readHolder(path);
    if (holder !== undefined && holder.pid !== pid && isRunning(holder.pid)) throw new RunLockHeldError(path, holder);
    // Left behind by a service that is gone (or unreadable half-written junk): take it over.
    rmSync(path, { force: true });
  }
  let released = false;
  return {
    path,
    release: () => {
      if (released) return;
      released = true;
      if (readHolder(path)?.pid === pid) rmSync(path, { force: true });
    },
  };
}
