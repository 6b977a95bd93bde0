import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Bitrix24 payloads as the documentation and the official SDKs' tests show them, kept in
 * `test/fixtures/bitrix24/` (provenance per file in its SOURCES.md).
 */
export const SAMPLES_DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'bitrix24');

/** A sample's text. */
export function sampleText(name: string): string {
  return readFileSync(join(SAMPLES_DIR, name), 'utf8');
}

/** A JSON sample, parsed. */
export function sampleJson(name: string): unknown {
  return JSON.parse(sampleText(name));
}
