/** Fields of a log line: ids, names and codes. Never a token, code, secret or request body. */
export type LogAttributes = Readonly<Record<string, unknown>>;

/**
 * Where the service's rules report what they did. Messages are constant; variables go in attributes.
 * In Lambda it is the Powertools Logger (JSON lines); locally a one-line human format.
 *
 * @example
 * deps.logger.warn('refresh failed, will retry', { memberId, userId, category });
 */
export interface Logger {
  debug(message: string, attributes: LogAttributes): void;
  info(message: string, attributes: LogAttributes): void;
  warn(message: string, attributes: LogAttributes): void;
  error(message: string, attributes: LogAttributes): void;
}

/** Drops every line (tests that do not look at logs, libraries without a logger). */
export const SILENT_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
