import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `npm start` running as a child process, with the URLs it printed. */
export interface ServeProcess {
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
  /** Sends SIGTERM and resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

function urlAfter(output: string, label: string): string {
  const match = new RegExp(`${label}\\s+(http://\\S+)`).exec(output);
  if (match?.[1] === undefined) throw new Error(`no "${label}" URL in:\n${output}`);
  return match[1];
}

/**
 * Spawns the run command (`local/serve.ts` on this Node, as `npm start` runs it through tsx) on free
 * ports with a fresh data folder, and resolves once it printed its URLs. Sweep timers are slowed
 * down so that only the test triggers sweeps.
 */
export async function startServeProcess(env: Record<string, string> = {}): Promise<ServeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'serve-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/serve.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      EMULATOR_PORT: '0',
      LOCAL_DATA_DIR: dataDir,
      SWEEP_INTERVAL_SECONDS: '3600',
      PARKED_INTERVAL_SECONDS: '3600',
      BITRIX_CLIENT_ID: '',
      BITRIX_CLIENT_SECRET: '',
      PUBLIC_BASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  await new Promise<void>((resolveReady, reject) => {
    const check = () => {
      if (output.includes('Ctrl-C stops everything.')) {
        child.stdout?.off('data', check);
        resolveReady();
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready:\n${output}`)));
  });
  const serviceUrl = urlAfter(output, 'status page').replace(/\/status$/, '');
  return {
    child,
    dataDir,
    output: () => output,
    statusUrl: urlAfter(output, 'status page'),
    serviceUrl,
    emulatorUrl: urlAfter(output, 'Bitrix24 emulator'),
    authorizeUrl: urlAfter(output, 'authorize the demo'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      return code;
    },
  };
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
export function removeDataDir(serve: ServeProcess): void {
  rmSync(serve.dataDir, { recursive: true, force: true });
}
