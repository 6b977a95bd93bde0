import type { RefreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import { loadConfig } from '#shared/runtime/config.js';
import { refreshSettings } from '#shared/runtime/wiring.js';

/** Refresh settings for tests: the production defaults (`loadConfig({})`) unless overridden. */
export function testRefreshSettings(overrides: Partial<RefreshSettings> = {}): RefreshSettings {
  return { ...refreshSettings(loadConfig({})), ...overrides };
}
