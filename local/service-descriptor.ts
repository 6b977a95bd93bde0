import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `npm start` tells the operator CLI about the running local service: where its store is and the
 * environment its handlers run with. Holds endpoints and names only, never a secret value (the client
 * secret stays inside the local Secrets Manager).
 */
export interface LocalServiceDescriptor {
  readonly pid: number;
  /** Base URL of the API routes, e.g. `http://127.0.0.1:3000`. */
  readonly serviceUrl: string;
  readonly statusUrl: string;
  /** The Bitrix24 emulator's base URL, when the service runs against it. */
  readonly emulatorUrl?: string | undefined;
  /** `TABLE_NAME`, `AWS_ENDPOINT_URL_*`, `CLIENT_CREDENTIALS_SECRET_ID`, `BITRIX_URL_REWRITES`, … */
  readonly env: Readonly<Record<string, string>>;
  /**
   * What a consumer process needs to use the service: `BITRIX24_TOKEN_TABLE`, `BITRIX24_TOKEN_VENDOR`,
   * `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_LAMBDA` (the local token vendor), region and
   * credentials the local servers accept, `BITRIX_URL_REWRITES`.
   */
  readonly consumerEnv?: Readonly<Record<string, string>> | undefined;
}

/** Where the descriptor lives inside the data folder. */
export function descriptorPath(dataDir: string): string {
  return join(dataDir, 'endpoint.json');
}

/** Writes the descriptor atomically (a reader never sees half a file). */
export function writeServiceDescriptor(dataDir: string, descriptor: LocalServiceDescriptor): void {
  mkdirSync(dataDir, { recursive: true });
  const path = descriptorPath(dataDir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(descriptor, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function removeServiceDescriptor(dataDir: string): void {
  rmSync(descriptorPath(dataDir), { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads the descriptor of the service running on `dataDir`; throws an `Error` that says what to do when
 * there is none or its process is gone.
 */
export function readServiceDescriptor(dataDir: string): LocalServiceDescriptor {
  const path = descriptorPath(dataDir);
  let descriptor: LocalServiceDescriptor;
  try {
    descriptor = JSON.parse(readFileSync(path, 'utf8')) as LocalServiceDescriptor;
  } catch {
    throw new Error(
      `no local service found (${path} is missing): start it with \`npm start\`, or pass --table NAME for AWS`,
    );
  }
  if (typeof descriptor.pid !== 'number' || !isRunning(descriptor.pid)) {
    throw new Error(`the local service that wrote ${path} is not running: start it with \`npm start\``);
  }
  return descriptor;
}
