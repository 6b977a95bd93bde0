import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerProcess } from '#bench/lib/worker-process.js';

const dir = mkdtempSync(join(tmpdir(), 'worker-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WorkerProcess', () => {
  it('has handled every line a process printed before it was killed when its answer comes back as a crash', async () => {
    // Prepare: a worker that prints notifications (all of them into the pipe at once), then dies by SIGKILL without answering
    const file = join(dir, 'dies.mjs');
    writeFileSync(
      file,
      [
        // Written with writeSync: every line has left the process (is in the pipe) before the kill.
        "import { writeSync } from 'node:fs';",
        "const line = (message) => writeSync(1, JSON.stringify(message) + '\\n');",
        "line({ type: 'ready' });",
        "process.stdin.once('data', () => {",
        "  const padding = 'x'.repeat(500);",
        "  for (let i = 0; i < 100; i += 1) line({ type: 'notification', change: { n: i, padding } });",
        "  process.kill(process.pid, 'SIGKILL');",
        '});',
      ].join('\n'),
    );
    const worker = await WorkerProcess.start(file, {});

    // Act: this process is busy while the worker prints and dies, so the lines and the exit wait together
    worker.send({ op: 'die' });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const answer = await worker.next();

    // Assess
    expect(answer.type).toBe('crash');
    expect(worker.notifications).toHaveLength(100);
  });
});
