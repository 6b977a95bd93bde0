import { Logger } from '@aws-lambda-powertools/logger';
import { once } from '#shared/core/domain/once.js';

/** `POWERTOOLS_SERVICE_NAME` when the deployment sets none. */
export const SERVICE_NAME = 'bitrix24-token-service';

/**
 * The function's logger (Powertools, JSON lines), built on first use from `POWERTOOLS_*` variables.
 * Messages are constant; variables go in keys. Never log codes, tokens, `application_token`, the client
 * secret or a raw request (query strings and bodies carry credentials).
 */
export const defaultLogger = once(
  () => new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME }),
);
