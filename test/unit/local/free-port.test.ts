import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, portIsFree } from '#local/free-port.js';

describe('freePort / portIsFree', () => {
  it('hands out a port that is free, and tells a taken port from a free one', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const freeBefore = await portIsFree(port);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const freeWhileTaken = await portIsFree(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));

    // Assess
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    expect(freeBefore).toBe(true);
    expect(freeWhileTaken).toBe(false);
  });
});
