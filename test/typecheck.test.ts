import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the TypeScript sources', () => {
  it('type-check under the strict project settings', () => {
    let output = '';
    let failed = false;
    try {
      execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { encoding: 'utf8' });
    } catch (error) {
      failed = true;
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(failed ? output : '').toBe('');
  }, 120_000);
});
