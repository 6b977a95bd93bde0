import { describe, expect, it } from 'vitest';
import { ConsoleLogger } from '#local/console-logger.js';

function capture(windowMs = 60_000) {
  const lines: string[] = [];
  const logger = new ConsoleLogger({ write: (line) => lines.push(line), logLevel: 'DEBUG', summaryWindowMs: windowMs });
  return { lines, logger };
}

describe('ConsoleLogger', () => {
  it('prints one readable line per entry: time, level, message, then the keys', () => {
    // Prepare
    const { lines, logger } = capture();

    // Act
    logger.warn('refresh failed, will retry', { memberId: 'a223c6b3', userId: 1, category: 'transient', code: '503' });
    logger.info('sweep finished', { due: 0, failed: { total: 0 } });

    // Assess
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d WARN {2}refresh failed, will retry {2}memberId=a223c6b3 userId=1 category=transient code=503$/,
      ),
      expect.stringMatching(/^\d\d:\d\d:\d\d INFO {2}sweep finished {2}due=0 failed=\{"total":0\}$/),
    ]);
    expect(lines.join('\n')).not.toContain('{"level"');
  });

  it('shows errors by name and message with their cause, and quotes text with spaces', () => {
    // Prepare
    const { lines, logger } = capture();
    const error = new Error('the refresh failed', { cause: new TypeError('fetch failed') });

    // Act
    logger.error('refresh of a due token set crashed', { memberId: 'm', error, note: 'two words' });

    // Assess
    expect(lines[0]).toContain('error="Error: the refresh failed (cause: TypeError: fetch failed)"');
    expect(lines[0]).toContain('note="two words"');
    expect(lines[0]).not.toContain('stack');
  });

  it('never prints a value under a key that names a token, a secret, a cookie or a body', () => {
    // Prepare
    const { lines, logger } = capture();

    // Act
    logger.info('careless caller', {
      accessToken: 'AT-SECRET',
      refresh_token: 'RT-SECRET',
      clientSecret: 'CS-SECRET',
      nested: { application_token: 'APP-SECRET', ok: 'visible' },
      body: 'AUTH_ID=FRAME-SECRET',
    });

    // Assess
    const text = lines.join('\n');
    for (const secret of ['AT-SECRET', 'RT-SECRET', 'CS-SECRET', 'APP-SECRET', 'FRAME-SECRET']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('visible');
  });

  it('prints the first refused request of a burst and one count for the rest', () => {
    // Prepare
    const { lines, logger } = capture();
    const refused = (status: number, route: string, error: string) =>
      logger.warn('request refused', { status, route, body: JSON.stringify({ error, message: 'why' }) });

    // Act
    refused(400, 'POST /bitrix/events', 'validation');
    refused(400, 'POST /bitrix/events', 'validation');
    refused(400, 'POST /bitrix/events', 'validation');
    refused(403, 'GET /oauth/callback', 'forbidden');
    const duringBurst = lines.length;
    logger.flushSummary();
    refused(413, 'POST /bitrix/install', 'payload_too_large');

    // Assess
    expect(duringBurst).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(/WARN {2}request refused: 400 POST \/bitrix\/events validation$/),
      expect.stringMatching(
        /WARN {2}3 more requests refused: 2× 400 POST \/bitrix\/events validation, 1× 403 GET \/oauth\/callback forbidden$/,
      ),
      expect.stringMatching(/WARN {2}request refused: 413 POST \/bitrix\/install payload_too_large$/),
    ]);
  });

  it('summarises a burst by itself once its window has passed', async () => {
    // Prepare
    const { lines, logger } = capture(20);

    // Act
    logger.warn('request refused', { status: 400, route: 'GET /oauth/start' });
    logger.warn('request refused', { status: 400, route: 'GET /oauth/start' });
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Assess
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/1 more request refused: 1× 400 GET \/oauth\/start$/);
  });
});
