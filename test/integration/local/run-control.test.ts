import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockPath } from '#local/run-lock.js';
import {
  removeDataDir,
  runServeToEnd,
  type ServeProcess,
  startServeProcess,
  stillRunning,
  waitUntilGone,
} from '#test/helpers/processes/serve-process.js';

/** Generous: stopping takes a few seconds; a loaded machine must not turn that into a failure. */
const STOP_BUDGET_MS = 20_000;
/** Each test starts `npm start` (DynamoDB Local, the emulator) itself: ten seconds or more on two busy cores. */
const PER_TEST_MS = 120_000;

const started: ServeProcess[] = [];
afterAll(async () => {
  for (const serve of started) {
    await serve.stop('SIGKILL');
    for (const pid of stillRunning(serve.tree)) process.kill(pid, 'SIGKILL');
    removeDataDir(serve);
  }
});

async function start(dataDir?: string): Promise<ServeProcess> {
  const serve = await startServeProcess(dataDir === undefined ? {} : { dataDir });
  started.push(serve);
  return serve;
}

describe('npm start: one service per data folder, stopped as a whole by any stop signal', () => {
  it(
    'takes over a lock left by a dead run, refuses a second start on the folder naming the holder, and stops on SIGINT to npm',
    async () => {
      // Prepare
      const dataDir = mkdtempSync(join(tmpdir(), 'serve-lock-'));
      // A lock from a run that was killed: its pid no longer exists.
      writeFileSync(lockPath(dataDir), JSON.stringify({ pid: 2 ** 22 + 1, startedAt: 0 }));
      const first = await start(dataDir);
      const holder = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as { pid: number };
      const descriptorBefore = readFileSync(join(dataDir, 'endpoint.json'), 'utf8');

      // Act
      const second = await runServeToEnd({ dataDir });
      const firstStillServes = await fetch(`${first.serviceUrl}/status.json`);
      const descriptorAfter = readFileSync(join(dataDir, 'endpoint.json'), 'utf8');
      const code = await first.stop('SIGINT');
      const left = await waitUntilGone(first.tree, STOP_BUDGET_MS);

      // Assess
      expect(first.tree).toContain(holder.pid);
      expect(second.code).not.toBe(0);
      expect(second.output).toContain(`is in use by another npm start (pid ${holder.pid}`);
      expect(second.output).toContain('LOCAL_DATA_DIR=');
      expect(second.output).not.toContain('DynamoDB Local');
      expect(firstStillServes.status).toBe(200);
      expect(descriptorAfter).toBe(descriptorBefore);
      expect(code).toBe(0);
      expect(left).toEqual([]);
      expect(first.output()).toContain('SIGINT: stopping');
      expect(existsSync(lockPath(dataDir))).toBe(false);
    },
    PER_TEST_MS,
  );

  it(
    'stops npm, node and DynamoDB Local when npm alone gets SIGHUP (npm does not pass it on)',
    async () => {
      // Prepare
      const serve = await start();
      expect(serve.tree.length).toBeGreaterThanOrEqual(3);

      // Act
      await serve.stop('SIGHUP');
      const left = await waitUntilGone(serve.tree, STOP_BUDGET_MS);

      // Assess
      expect(left).toEqual([]);
      expect(existsSync(lockPath(serve.dataDir))).toBe(false);
      expect(existsSync(join(serve.dataDir, 'endpoint.json'))).toBe(false);
    },
    PER_TEST_MS,
  );
});
