import { describe, expect, it } from 'vitest';
import { freePort } from '#local/free-port.js';

describe('freePort', () => {
  it('returns a usable TCP port number', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});
