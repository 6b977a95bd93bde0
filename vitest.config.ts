import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/vitest/global-setup.ts'],
    setupFiles: ['test/helpers/vitest/setup.ts'],
    reporters: ['default', './test/helpers/vitest/plain-summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: integration files share one DynamoDB Local; keep the pool small.
    maxWorkers: 2,
  },
});
