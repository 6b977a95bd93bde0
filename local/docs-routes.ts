import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RouteTable } from './lambda-http-server.js';

/** The operator docs the status page links to (its remedies cite their sections). */
const LINKED_DOCS = ['OPERATIONS.md', 'REFRESH.md', 'LIFECYCLE.md', 'OAUTH.md', 'PROTOCOL.md'] as const;

const DOCS_DIR = resolve(import.meta.dirname, '..', 'docs');

/**
 * `GET /docs/{name}.md` for the docs the status page and the emulator page link to, as plain text: the
 * local status page's links then work without a network or a checkout browser. Fixed names only, read
 * from this repository's `docs/`.
 *
 * @example
 * await startLambdaHttpServer({ ...routes, ...docsRoutes() });
 */
export function docsRoutes(): RouteTable {
  return Object.fromEntries(
    LINKED_DOCS.map((name) => [
      `GET /docs/${name}`,
      async () => ({
        statusCode: 200,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
        body: await readFile(resolve(DOCS_DIR, name), 'utf8'),
      }),
    ]),
  );
}
