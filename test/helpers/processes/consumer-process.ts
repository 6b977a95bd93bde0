/**
 * One consumer Lambda in its own process: `functions/example-consumer.ts` exactly as deployed (the
 * library built from the environment `TokenConsumerAccess.bind` sets: the token table and the token
 * vendor, here a local Lambda endpoint of the parent). Prints `ready`, waits for a line on stdin
 * (so several processes start together), runs `INVOCATIONS` concurrent invocations for `MEMBER_ID`, and
 * prints `{ totals, leadCounts }` as one JSON line.
 */
import { createInterface } from 'node:readline';
import { handler } from '#functions/example-consumer.js';

const memberId = process.env.MEMBER_ID ?? '';
const invocations = Number(process.env.INVOCATIONS ?? '1');

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
lines.once('line', () => {
  lines.close();
  Promise.all(Array.from({ length: invocations }, () => handler({ memberId })))
    .then((results) => {
      process.stdout.write(
        `${JSON.stringify({ totals: results.map((r) => r.total), leadCounts: results.map((r) => r.leads.length) })}\n`,
      );
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
      process.exitCode = 1;
    });
});
