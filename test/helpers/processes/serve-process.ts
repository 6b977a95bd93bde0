import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** `npm start` running as a child process, with the URLs it printed. */
export interface ServeProcess {
  /** The `npm` process (the one a terminal, an IDE or a process manager signals). */
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything printed so far. */
  output(): string;
  readonly statusUrl: string;
  /** Base URL of the API routes. */
  readonly serviceUrl: string;
  /** The Bitrix24 emulator's control page (ends with `/`). */
  readonly emulatorUrl: string;
  readonly authorizeUrl: string;
  /** Every process of the run (npm, node, java) when it was ready. */
  readonly tree: readonly number[];
  /** Sends `signal` (SIGTERM) to npm and resolves with its exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServeOptions {
  /** Environment added to this process's. */
  readonly env?: Record<string, string>;
  /** The data folder. @default a fresh temporary one */
  readonly dataDir?: string;
}

function urlAfter(output: string, label: string): string {
  const match = new RegExp(`${label}\\s+(http://\\S+)`).exec(output);
  if (match?.[1] === undefined) throw new Error(`no "${label}" URL in:\n${output}`);
  return match[1];
}

/**
 * The environment of a test run: a newcomer's (none of the test runner's POWERTOOLS_* settings, which
 * silence the service's log), free ports, emulator mode, timers slowed down so only the test sweeps.
 */
function serveEnv(dataDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('POWERTOOLS_')));
  return {
    ...inherited,
    PORT: '0',
    EMULATOR_PORT: '0',
    LOCAL_DATA_DIR: dataDir,
    SWEEP_INTERVAL_SECONDS: '3600',
    PARKED_INTERVAL_SECONDS: '3600',
    BITRIX_CLIENT_ID: '',
    BITRIX_CLIENT_SECRET: '',
    PUBLIC_BASE_URL: '',
    ...env,
  };
}

/** Spawns `npm start` in its own process group, so a test signals npm alone, as a process manager would. */
function spawnNpmStart(dataDir: string, env: Record<string, string>): ChildProcess {
  return spawn('npm', ['start'], {
    env: serveEnv(dataDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

function collect(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return () => output;
}

/**
 * Runs the README's `npm start` (the `start` script: `node --import tsx local/serve.ts`) on free ports
 * with a fresh data folder, and resolves once it printed its URLs.
 */
export async function startServeProcess(options: ServeOptions = {}): Promise<ServeProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'serve-'));
  const child = spawnNpmStart(dataDir, options.env ?? {});
  const output = collect(child);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  await new Promise<void>((resolveReady, reject) => {
    const check = () => {
      if (output().includes('Ctrl-C stops everything.')) {
        child.stdout?.off('data', check);
        resolveReady();
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`npm start exited with ${code} before it was ready:\n${output()}`)));
  });
  const pid = child.pid ?? 0;
  const tree = [pid, ...descendants(pid)];
  return {
    child,
    dataDir,
    output,
    statusUrl: urlAfter(output(), 'status page'),
    serviceUrl: urlAfter(output(), 'status page').replace(/\/status$/, ''),
    emulatorUrl: urlAfter(output(), 'Bitrix24 emulator'),
    authorizeUrl: urlAfter(output(), 'authorize the demo'),
    tree,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A second `npm start` that is expected to end by itself (e.g. refused); resolves with its code and output. */
export async function runServeToEnd(options: ServeOptions & { readonly dataDir: string }) {
  const child = spawnNpmStart(options.dataDir, options.env ?? {});
  const output = collect(child);
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exit) => resolveExit(exit)));
  return { code, output: output() };
}

/** Children, grandchildren, … of `pid` (from /proc), e.g. node and java under npm. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`; comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() ?? 0) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The pids of `pids` that still run (zombies count as gone: they hold no port and no file). */
export function stillRunning(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Waits until none of `pids` runs; resolves with those still running when `timeoutMs` ran out. */
export async function waitUntilGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  let running = stillRunning(pids);
  while (running.length > 0 && performance.now() < deadline) {
    await sleep(100);
    running = stillRunning(pids);
  }
  return running;
}

/** Processes whose command line mentions `text` (e.g. a DynamoDB Local started on a data folder). */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Removes the data folder of a stopped serve process. */
export function removeDataDir(serve: Pick<ServeProcess, 'dataDir'>): void {
  if (existsSync(serve.dataDir)) rmSync(serve.dataDir, { recursive: true, force: true });
}
