import { type BitrixRestClient, createTokenConsumer, ValidationError } from '#shared/consumer/index.js';

/** A CRM lead as `crm.lead.list` returns it with `select: ['ID', 'TITLE']`. */
export interface Lead {
  readonly ID: string;
  readonly TITLE: string;
}

export interface ExampleConsumerResult {
  readonly total: number;
  readonly leads: readonly Lead[];
}

export interface ExampleConsumerDeps {
  readonly rest: Pick<BitrixRestClient, 'call'>;
}

/** `{ memberId: string, userId?: number }`, checked by hand: the example carries nothing but the package. */
function parseEvent(event: unknown): { memberId: string; userId: number | undefined } {
  const field = (name: string): unknown =>
    typeof event === 'object' && event !== null ? Reflect.get(event, name) : undefined;
  const memberId = field('memberId');
  const userId = field('userId');
  const invalid = new ValidationError('event must be { memberId: string, userId?: number }');
  if (typeof memberId !== 'string' || memberId === '') throw invalid;
  if (userId === undefined) return { memberId, userId: undefined };
  if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId < 0) throw invalid;
  return { memberId, userId };
}

/**
 * Example of a consumer Lambda (direct invoke), built from the consumer package alone, as a Lambda of
 * another team's repository is: `{ memberId, userId? }` → the portal's first page of CRM leads. Tokens,
 * refreshes (the service's token vendor), rate limits and renames are the library's business; the
 * function only translates. Errors (`TokenUnavailableError`, `BitrixRestError`, …) fail the invocation
 * as they are. Deployed only on request (`-c exampleConsumer=true`).
 */
export function makeExampleConsumer(deps: ExampleConsumerDeps) {
  return async (event: unknown): Promise<ExampleConsumerResult> => {
    const { memberId, userId } = parseEvent(event);
    const { result, total } = await deps.rest.call<Lead[]>(
      memberId,
      'crm.lead.list',
      { select: ['ID', 'TITLE'] },
      { userId },
    );
    return { total: total ?? result.length, leads: result };
  };
}

export const handler = makeExampleConsumer(createTokenConsumer());
