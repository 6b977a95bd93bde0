import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpPortalProfile } from '#shared/adapters/bitrix/portal-profile.js';
import { BitrixRestError } from '#shared/core/domain/errors.js';

/** What the portal answers next, and what it was asked. */
let answer: (request: IncomingMessage, response: ServerResponse) => void;
const received: { path: string; body: string }[] = [];
let server: Server;
let profiles: HttpPortalProfile;
const PORTAL = 'https://profile-test.bitrix24.com/rest/';

function json(status: number, body: unknown): (request: IncomingMessage, response: ServerResponse) => void {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      received.push({ path: request.url ?? '', body });
      answer(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  profiles = new HttpPortalProfile({
    urlRewrites: { [new URL(PORTAL).origin]: `http://127.0.0.1:${port}` },
    timeoutMs: 2000,
  });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<BitrixRestError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BitrixRestError);
  return error as BitrixRestError;
}

describe('HttpPortalProfile (a portal over real HTTP)', () => {
  it('asks `profile` with the token in the body, never in the address, and reads ADMIN', async () => {
    // Prepare
    answer = json(200, { result: { ID: '1', ADMIN: true } });
    received.length = 0;

    // Act
    const admin = await profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 'access-token-1' });

    // Assess
    expect(admin).toBe(true);
    expect(received).toEqual([{ path: '/rest/profile', body: 'auth=access-token-1' }]);
  });

  it('reads a non-admin as false', async () => {
    answer = json(200, { result: { ID: '2', ADMIN: false } });
    expect(await profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 't' })).toBe(false);
  });

  it('fails closed on an ADMIN that is not a boolean ("true", 1): the portal could not say', async () => {
    for (const value of ['true', 1, 'Y', null]) {
      answer = json(200, { result: { ID: '2', ADMIN: value } });
      expect((await failure(profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 't' }))).error).toBe(
        'malformed_response',
      );
    }
  });

  it("passes the portal's error code on, and does not believe a failed answer's body", async () => {
    answer = json(401, { error: 'expired_token', error_description: 'The access token provided has expired.' });
    expect((await failure(profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 't' }))).error).toBe('expired_token');
    answer = json(503, { result: { ADMIN: true } });
    expect((await failure(profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 't' }))).status).toBe(503);
  });

  it('follows no redirect, wherever it points', async () => {
    // Prepare
    answer = (_request, response) => {
      response.writeHead(302, { location: 'https://elsewhere.example/rest/profile' });
      response.end();
    };

    // Act
    const error = await failure(profiles.isAdmin({ clientEndpoint: PORTAL, accessToken: 't' }));

    // Assess
    expect(error).toMatchObject({ error: 'unexpected_redirect', status: 302 });
  });

  it('never asks a portal address that is not https', async () => {
    received.length = 0;
    await failure(profiles.isAdmin({ clientEndpoint: 'http://profile-test.bitrix24.com/rest/', accessToken: 't' }));
    expect(received).toEqual([]);
  });
});
