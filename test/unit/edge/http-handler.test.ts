import { describe, expect, it } from 'vitest';
import { localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { BitrixOAuthError, ValidationError } from '#shared/core/domain/errors.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { json } from '#shared/edge/responses.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';

const observability = { logger: powertoolsLogger() };

describe('httpHandler', () => {
  it('answers a validation error with 400 and its message, as JSON', async () => {
    // Prepare
    const handler = httpHandler(async () => {
      throw new ValidationError('portal must be a host name');
    }, observability);
    const server = await startLambdaHttpServer({ 'GET /x': handler });

    // Act
    const response = await fetch(`${server.url}/x`);
    await server.stop();

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'validation', message: 'portal must be a host name' });
  });

  it('hides internals of unexpected errors behind a generic 5xx', async () => {
    // Prepare
    const secret = 'client-secret-value';
    const handler = httpHandler(async () => {
      throw new Error(`boom with ${secret}`);
    }, observability);
    const oauthHandler = httpHandler(async () => {
      throw new BitrixOAuthError('invalid_client', `bad ${secret}`, 401);
    }, observability);
    const server = await startLambdaHttpServer({ 'GET /x': handler, 'GET /y': oauthHandler });

    // Act
    const plain = await fetch(`${server.url}/x`);
    const oauth = await fetch(`${server.url}/y`);
    const plainBody = await plain.text();
    const oauthBody = await oauth.text();
    await server.stop();

    // Assess
    expect(plain.status).toBe(500);
    expect(plainBody).not.toContain(secret);
    expect(oauth.status).toBe(502);
    expect(oauthBody).not.toContain(secret);
  });

  it('passes query, cookies, headers and a form body through in API Gateway v2 shape', async () => {
    // Prepare
    const handler = httpHandler(
      async (event) =>
        json(200, {
          routeKey: event.routeKey,
          query: event.queryStringParameters,
          cookies: event.cookies,
          type: event.headers['content-type'],
          body: event.body,
          base64: event.isBase64Encoded,
        }),
      observability,
    );
    const server = await startLambdaHttpServer({ 'POST /f': handler });

    // Act
    const response = await fetch(`${server.url}/f?a=1&b=2`, {
      method: 'POST',
      headers: { cookie: 'k=v; other=w', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'auth%5Bdomain%5D=x',
    });
    const body = await response.json();
    await server.stop();

    // Assess
    expect(body).toEqual({
      routeKey: 'POST /f',
      query: { a: '1', b: '2' },
      cookies: ['k=v', 'other=w'],
      type: 'application/x-www-form-urlencoded',
      body: 'auth%5Bdomain%5D=x',
      base64: false,
    });
  });

  it('gives handlers a Lambda context with a remaining-time budget', () => {
    const context = localContext('fn', 5000);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(5000);
  });
});
