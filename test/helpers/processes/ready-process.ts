import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Starts `script` in its own process (`node --import tsx`, the loader `npx tsx` uses) with `env` added to
 * this process's environment, and resolves once it prints `ready`. `result` is the JSON of its next line
 * (after it is sent `go\n` on stdin); it rejects if the process exits first or with a non-zero code.
 */
export async function startReadyProcess<T>(
  script: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; result: Promise<T> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    lines.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`unexpected: ${line}`))));
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  const result = new Promise<T>((resolve, reject) => {
    ready.then(() => lines.once('line', (line) => resolve(JSON.parse(line) as T)), reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`exited with ${code}: ${stderr}`));
    });
  });
  await ready;
  return { child, result };
}
