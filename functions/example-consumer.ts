import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod/mini';
import type { BitrixRestClient } from '#shared/consumer/rest-client.js';
import { ValidationError } from '#shared/core/domain/errors.js';
import { loadConfig } from '#shared/runtime/config.js';
import { createTokenConsumer } from '#shared/runtime/consumer.js';
import { defaultLogger } from '#shared/runtime/logger.js';

/** A CRM lead as `crm.lead.list` returns it with `select: ['ID', 'TITLE']`. */
export interface Lead {
  readonly ID: string;
  readonly TITLE: string;
}

export interface ExampleConsumerResult {
  readonly total: number;
  readonly leads: readonly Lead[];
}

const eventSchema = z.object({
  memberId: z.string().check(z.minLength(1)),
  userId: z.optional(z.int().check(z.gte(0))),
});

export interface ExampleConsumerDeps {
  readonly rest: Pick<BitrixRestClient, 'call'>;
  readonly logger: Logger;
}

/**
 * Example of a consumer Lambda (direct invoke): `{ memberId, userId? }` → the portal's first page of
 * CRM leads. Tokens, refreshes, rate limits and renames are the library's business; the function only
 * translates. Errors (`TokenUnavailableError`, `BitrixRestError`, …) fail the invocation as they are.
 */
export function makeExampleConsumer(deps: ExampleConsumerDeps) {
  return middy<unknown, ExampleConsumerResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .handler(async (event) => {
      const parsed = eventSchema.safeParse(event);
      if (!parsed.success) throw new ValidationError('event must be { memberId: string, userId?: number }');
      const { memberId, userId } = parsed.data;
      deps.logger.appendKeys({ memberId });
      const { result, total } = await deps.rest.call<Lead[]>(
        memberId,
        'crm.lead.list',
        { select: ['ID', 'TITLE'] },
        { userId },
      );
      return { total: total ?? result.length, leads: result };
    });
}

export const handler = makeExampleConsumer({
  rest: createTokenConsumer({ config: loadConfig() }).rest,
  logger: defaultLogger(),
});
