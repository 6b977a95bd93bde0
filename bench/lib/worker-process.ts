import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A line a worker prints: its answer to a command, a notification, or a crash report. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly [key: string]: unknown }
  | { readonly type: 'notification'; readonly change: unknown }
  | { readonly type: 'progress'; readonly phase: string }
  | { readonly type: 'crash'; readonly error: string };

/**
 * A worker in its own Node process, started with `node --import tsx <file>` (the loader `npx tsx`
 * uses, without the `npx` and `tsx` wrapper processes, so a SIGKILL hits the worker itself). It reads
 * one JSON command per stdin line and prints JSON lines: `ready` once, one `result` per command,
 * `notification`s as they happen, `crash` before dying of an unexpected error.
 */
export class WorkerProcess {
  readonly notifications: unknown[] = [];
  readonly crashes: string[] = [];
  /** Called for each `progress` line (e.g. a token call about to leave). */
  onProgress: ((phase: string) => void) | undefined;
  private readonly waiting: ((message: WorkerMessage) => void)[] = [];
  private readonly queued: WorkerMessage[] = [];
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private killedByUs = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let message: WorkerMessage;
      try {
        message = JSON.parse(line) as WorkerMessage;
      } catch {
        return; // not ours (a library printing to stdout)
      }
      if (message.type === 'notification') this.notifications.push(message.change);
      else if (message.type === 'progress') this.onProgress?.(message.phase);
      else if (message.type === 'crash') this.crashes.push(message.error);
      else this.deliver(message);
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': it comes once the process has exited and its stdout is read to the end, so
      // every line it printed before dying (a notification, say) has been handled by then.
      child.once('close', (code, signal) => {
        resolve({ code, signal });
        // Whoever waits for an answer gets a crash instead of hanging forever.
        for (const waiter of this.waiting.splice(0)) {
          waiter({
            type: 'crash',
            error: `exited (code ${code}, signal ${signal}) ${this.killedByUs ? '' : this.stderr}`,
          });
        }
      });
    });
  }

  /** Starts the worker and waits for its `ready` line. */
  static async start(file: string, env: Readonly<Record<string, string>>): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env } });
    const worker = new WorkerProcess(child);
    const first = await worker.next();
    if (first.type !== 'ready')
      throw new Error(`worker ${file} did not start: ${JSON.stringify(first)} ${worker.stderr}`);
    return worker;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the worker died without being killed by us, or reported a crash. */
  get failed(): boolean {
    return this.crashes.length > 0 || (this.child.exitCode !== null && this.child.exitCode !== 0 && !this.killedByUs);
  }

  send(command: Readonly<Record<string, unknown>>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** The next `ready`/`result` line (or a `crash` if the process dies first). */
  next(): Promise<WorkerMessage> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve({ type: 'crash', error: `not running ${this.stderr}` });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends a command and waits for its result. */
  async request(command: Readonly<Record<string, unknown>>): Promise<WorkerMessage> {
    this.send(command);
    return this.next();
  }

  /** SIGKILL: no cleanup, no last words, as a Lambda that hits its timeout or an OOM. */
  kill(): void {
    this.killedByUs = true;
    this.child.kill('SIGKILL');
  }

  /** Asks the worker to exit and waits (SIGKILL after a grace period). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killedByUs = true;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  private deliver(message: WorkerMessage): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(message);
    else this.queued.push(message);
  }
}

/**
 * The worker side: prints `ready`, runs `handle` for each stdin line in order, prints its result,
 * and reports unexpected errors as `crash` before exiting with code 1. Exits when stdin closes.
 */
export function serveWorker(handle: (command: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  const crash = (error: unknown) => {
    process.stdout.write(
      `${JSON.stringify({ type: 'crash', error: error instanceof Error ? (error.stack ?? error.message) : String(error) })}\n`,
    );
    process.exit(1);
  };
  process.on('unhandledRejection', crash);
  process.on('uncaughtException', crash);
  let chain = Promise.resolve();
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    chain = chain.then(async () => {
      const result = await handle(JSON.parse(line) as Record<string, unknown>);
      process.stdout.write(`${JSON.stringify({ type: 'result', ...result })}\n`);
    }, crash);
    chain.catch(crash);
  });
  lines.on('close', () => {
    void chain.then(() => process.exit(0));
  });
  process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`);
}

/** Tells the parent where the worker is (it may schedule a kill on it). */
export function reportProgress(phase: string): void {
  process.stdout.write(`${JSON.stringify({ type: 'progress', phase })}\n`);
}

/** A notification publisher for workers: one `notification` line per published change. */
export const stdoutNotifications = {
  async publish(change: unknown): Promise<void> {
    process.stdout.write(`${JSON.stringify({ type: 'notification', change })}\n`);
  },
};

/** A kill scheduled in one round. */
export interface PlannedKill {
  /** The worker that got (or was to get) the SIGKILL; undefined while an aimed kill waits for its token call. */
  readonly victim: () => WorkerProcess | undefined;
  /** Whether the SIGKILL was sent. */
  readonly fired: () => boolean;
  /** Cancels it if it has not fired (its token call never came, or the round ended first). */
  readonly cancel: () => void;
}

/**
 * Plans one SIGKILL among `candidates` in a round, seeded: half of the time aimed at a process in the
 * middle of a refresh — the one making the 1st, 2nd or 3rd token call of the round, a random delay after
 * the call left (while the server works, or between the answer and the write) — otherwise a random
 * process at a random moment of a typical round (before its first lease, between refreshes, after the
 * last).
 */
export function planKill(
  candidates: readonly WorkerProcess[],
  random: () => number,
  options: { readonly tokenLatencyMs: number; readonly typicalRoundMs: number },
): PlannedKill {
  let fired = false;
  let victim: WorkerProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    fired = true;
    victim?.kill();
  };
  if (random() < 0.5) {
    const nth = 1 + Math.floor(random() * 3);
    const delay = random() * (options.tokenLatencyMs + 30);
    let seen = 0;
    for (const candidate of candidates) {
      candidate.onProgress = () => {
        seen += 1;
        if (seen !== nth) return;
        victim = candidate;
        timer = setTimeout(fire, delay);
      };
    }
  } else {
    victim = candidates[Math.floor(random() * candidates.length)];
    timer = setTimeout(fire, (0.05 + 0.9 * random()) * options.typicalRoundMs);
  }
  return {
    victim: () => victim,
    fired: () => fired,
    cancel: () => {
      for (const candidate of candidates) candidate.onProgress = undefined;
      if (!fired) clearTimeout(timer);
    },
  };
}
