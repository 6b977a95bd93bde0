import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumerHarness, startConsumerHarness, VENDOR_FUNCTION } from '#test/helpers/harnesses/consumer.js';
import { startReadyProcess } from '#test/helpers/processes/ready-process.js';

let h: ConsumerHarness;

beforeAll(async () => {
  // Real time: the processes judge expiry by their own clock, as a deployed Lambda does.
  h = await startConsumerHarness({ frozen: false });
});
afterAll(async () => {
  await h.stop();
});

interface ProcessResult {
  readonly totals: number[];
  readonly leadCounts: number[];
}

/** Starts `functions/example-consumer.ts` in its own process (`node --import tsx`) and waits until it is ready. */
async function startConsumerProcess(
  memberId: string,
  invocations: number,
): Promise<{ child: ChildProcessWithoutNullStreams; result: Promise<ProcessResult> }> {
  return startReadyProcess<ProcessResult>('test/helpers/processes/consumer-process.ts', {
    ...h.consumerEnv(),
    MEMBER_ID: memberId,
    INVOCATIONS: String(invocations),
  });
}

describe('the example consumer in separate processes (emulator + DynamoDB Local + the vendor on a local Lambda endpoint)', () => {
  it('two processes, 25 invocations each, meeting one expired token: one refresh, every invocation lists the leads', async () => {
    // Prepare: the table says the access token expired; both processes must refresh before calling.
    const { portal, stored } = await h.seedPortal(`processes-${Date.now().toString(36)}.bitrix24.com`, {
      accessExpiresAt: Date.now() - 1,
    });
    h.emulator.faults.set('token', { latencyMs: 50 });
    h.resetCounts();
    const processes = await Promise.all([0, 1].map(() => startConsumerProcess(portal.memberId, 25)));

    // Act: release both at once.
    for (const { child } of processes) child.stdin.write('go\n');
    const results = await Promise.all(processes.map((p) => p.result));

    // Assess: one vendor call per process (its single flight), one refresh in all
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(h.lambda.counts[`${VENDOR_FUNCTION}:RequestResponse`]).toBe(2);
    for (const result of results) {
      expect(result.totals).toEqual(Array.from({ length: 25 }, () => 60));
      expect(result.leadCounts).toEqual(Array.from({ length: 25 }, () => 50));
    }
    const after = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(after?.version).toBe(stored.version + 1);
    expect(h.emulator.tokenState(after?.refreshToken ?? '').state).toBe('live');
  });
});
