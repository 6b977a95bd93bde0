import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger. Messages are constant; variables go in keys. Never log codes, tokens,
 * `application_token`, the client secret or a raw request (query strings and bodies carry credentials).
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bitrix24-token-service' });
