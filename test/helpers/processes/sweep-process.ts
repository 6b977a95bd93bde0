/**
 * One sweep in its own process, wired exactly as the Lambda is (`wire(loadConfig()).refresh`),
 * except that time is the frozen instant in `SWEEP_NOW` (the emulator's clock in the parent test).
 * Prints `ready`, waits for a line on stdin (so several processes start together), sweeps, and prints
 * the summary as one JSON line.
 */
import { createInterface } from 'node:readline';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

const now = Number(process.env.SWEEP_NOW);
const config = loadConfig();
const deps = wire(config, { clock: () => now }).refresh;

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  lines.close();
  sweepDueTokens({ remainingMs: () => 60_000, concurrency: config.REFRESH_SWEEP_CONCURRENCY, maxKeys: 5000 }, deps)
    .then((summary) => {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
});
