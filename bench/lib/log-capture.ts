import { logger } from '#shared/runtime/logger.js';

/** An ERROR line the service logged: its constant message and the error it carried, if any. */
export interface LoggedError {
  readonly message: string;
  readonly errorName: string | undefined;
  readonly errorMessage: string | undefined;
}

/**
 * Runs `fn` with the service logger at ERROR and collects its JSON lines (other output
 * passes through). The runners keep the logger silent; here the errors are the evidence: a sweep
 * counts an unexpected exception as `internal` and only the log says what it was.
 */
export async function captureServiceErrors<T>(fn: () => Promise<T>): Promise<{ result: T; errors: LoggedError[] }> {
  const errors: LoggedError[] = [];
  const previousLevel = logger.getLevelName();
  // ERROR and WARN lines go to stderr (Powertools uses console.error / console.warn), the rest to stdout.
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, index) => {
    const original = originals[index] ?? stream.write;
    let pending = '';
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const passThrough: string[] = [];
      for (const line of lines) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          passThrough.push(line);
          continue;
        }
        const entry = parsed as { level?: unknown; message?: unknown; error?: { name?: unknown; message?: unknown } };
        if (entry.level === 'ERROR') {
          errors.push({
            message: String(entry.message),
            errorName: entry.error?.name === undefined ? undefined : String(entry.error.name),
            errorMessage: entry.error?.message === undefined ? undefined : String(entry.error.message),
          });
        } else if (entry.level === undefined) passThrough.push(line);
      }
      if (passThrough.length > 0) return original.call(stream, `${passThrough.join('\n')}\n`, ...(rest as []));
      const done = rest.find((arg) => typeof arg === 'function');
      if (typeof done === 'function') done();
      return true;
    }) as typeof stream.write;
  });
  logger.setLogLevel('ERROR');
  try {
    const result = await fn();
    return { result, errors };
  } finally {
    streams.forEach((stream, index) => {
      const original = originals[index];
      if (original !== undefined) stream.write = original;
    });
    logger.setLogLevel(previousLevel);
  }
}
