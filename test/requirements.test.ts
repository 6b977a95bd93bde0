import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** What a newcomer must install is said once, in the README, and agrees with what npm and CDK use. */

const ROOT = resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(resolve(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  devEngines: { runtime: { name: string; version: string; onFail: string } };
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe('the Node.js requirement', () => {
  it('is stated in the README as npm checks it (devEngines) and as the scripts run it (the node dev dependency)', () => {
    // Prepare
    const readme = read('README.md');

    // Act
    const minimum = /Needs Node\.js (\d+\.\d+) or later/.exec(readme)?.[1];
    const scriptsRunOn = /`npm ci` installs Node\.js (\d+\.\d+)/.exec(readme)?.[1];

    // Assess
    expect(pkg.devEngines.runtime).toEqual({ name: 'node', version: `>=${minimum}.0`, onFail: 'error' });
    expect(pkg.devDependencies.node?.startsWith(`${scriptsRunOn}.`)).toBe(true);
    expect(readme.match(/Node\.js \d+(\.\d+)? or later/g)).toHaveLength(1);
  });

  it('runs the scripts on the Lambda runtime the stack deploys', () => {
    // Act
    const lambdaMajor = /Runtime\.NODEJS_(\d+)_X/.exec(read('infra/constructs/app-function.ts'))?.[1];

    // Assess
    expect(pkg.devDependencies.node?.split('.')[0]).toBe(lambdaMajor);
  });

  it('keeps npm from warning about engines checked against the Node.js that only runs npm', () => {
    // Act
    const npmrc = read('.npmrc');

    // Assess
    expect(npmrc).toMatch(/^loglevel=error$/m);
    expect(pkg.scripts.start).toBe('exec node --import tsx local/serve.ts');
  });
});
