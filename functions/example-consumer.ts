import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { z } from 'zod';
import { call, ValidationError } from '#shared/index.js';
import { logger } from '#shared/runtime/logger.js';

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
  memberId: z.string().min(1),
  userId: z.number().int().nonnegative().optional(),
});

/**
 * Example of a consumer Lambda (direct invoke): `{ memberId, userId? }` → the portal's first page of
 * CRM leads. Tokens, refreshes, rate limits and renames are the library's business; the function only
 * translates. Errors (`TokenUnavailableError`, `BitrixRestError`, …) fail the invocation as they are.
 */
export const handler = middy<unknown, ExampleConsumerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const parsed = eventSchema.safeParse(event);
    if (!parsed.success) throw new ValidationError('event must be { memberId: string, userId?: number }');
    const { memberId, userId } = parsed.data;
    logger.appendKeys({ memberId });
    const { result, total } = await call<Lead[]>(memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] }, { userId });
    return { total: total ?? result.length, leads: result };
  });
