import type { LogAttributes, Logger } from '#shared/core/ports/logger.js';

/** One line a `MemoryLogger` kept. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: LogAttributes;
}

/** Keeps every line in memory, for assertions on what was (and was not) logged. */
export class MemoryLogger implements Logger {
  readonly lines: LoggedLine[] = [];

  debug(message: string, attributes: LogAttributes): void {
    this.lines.push({ level: 'debug', message, attributes });
  }

  info(message: string, attributes: LogAttributes): void {
    this.lines.push({ level: 'info', message, attributes });
  }

  warn(message: string, attributes: LogAttributes): void {
    this.lines.push({ level: 'warn', message, attributes });
  }

  error(message: string, attributes: LogAttributes): void {
    this.lines.push({ level: 'error', message, attributes });
  }

  /** Lines of one level (all levels when omitted). */
  at(level?: LoggedLine['level']): LoggedLine[] {
    return level === undefined ? [...this.lines] : this.lines.filter((line) => line.level === level);
  }

  /** Every line as JSON, as a log shipper would see it (for "no secret in any line" checks). */
  text(): string {
    return this.lines
      .map((line) =>
        JSON.stringify({ ...line, attributes: line.attributes }, (_key, value: unknown) =>
          value instanceof Error ? { name: value.name, message: value.message } : value,
        ),
      )
      .join('\n');
  }
}
