import { ValidationError } from './errors.js';
import type { EpochMs } from './time.js';
import type { TokenKey } from './token-set.js';

/** One due token set as the dispatcher queues it: its key and the due time it saw. No token. */
export interface QueuedRefresh extends TokenKey {
  readonly dueAt: EpochMs;
}

/** The message body on the refresh queue: `{"v":1,"memberId":"…","userId":1,"dueAt":1767225600000}`. */
export function encodeRefreshMessage(request: QueuedRefresh): string {
  return JSON.stringify({ v: 1, memberId: request.memberId, userId: request.userId, dueAt: request.dueAt });
}

/**
 * Reads a message body of the refresh queue; anything else is a `ValidationError` (a message no
 * retry can mend: the worker drops it with a log line rather than cycling it to the dead letters).
 */
export function decodeRefreshMessage(body: string): QueuedRefresh {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('refresh message is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new ValidationError('refresh message is not an object');
  const { v, memberId, userId, dueAt } = value as Record<string, unknown>;
  if (v !== 1) throw new ValidationError('refresh message has an unknown version');
  if (typeof memberId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(memberId)) {
    throw new ValidationError('refresh message has no valid memberId');
  }
  if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId < 0) {
    throw new ValidationError('refresh message has no valid userId');
  }
  if (typeof dueAt !== 'number' || !Number.isFinite(dueAt)) throw new ValidationError('refresh message has no dueAt');
  return { memberId, userId, dueAt };
}
