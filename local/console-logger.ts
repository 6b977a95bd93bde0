import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * The service's logger for a person at a terminal (`npm start`, `npm run ops`): the same Powertools
 * `Logger` the Lambda functions use, printing one readable line per entry instead of a JSON document.
 * Lambda keeps JSON (`shared/runtime/logger.ts`): CloudWatch queries need it, people at a terminal do not.
 *
 *     14:02:07 ERROR refresh failed, chain needs a person  memberId=5f3… userId=1 category=invalid_grant
 *
 * Refused requests come in bursts (a fuzzer, a browser retrying), so they are summarised: the first of
 * a burst gets its line, the rest one count per window.
 */

/** Keys whose values are never printed, whatever a caller passes (tokens, secrets, cookies, bodies). */
const SECRET_KEY = /token|secret|password|cookie|authorization|^body$|^query/i;
/** Powertools' standard attributes that say nothing to a person at a terminal. */
const STANDARD_KEYS = new Set(['time', 'level', 'message', 'function']);
/** The message `shared/edge/http-handler.ts` logs for every 4xx. */
const REFUSED = 'request refused';

/** Powertools' standard attributes reduced to when, how bad, what and in which function. */
class OneLineLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        time: attributes.timestamp.toISOString(),
        level: attributes.logLevel,
        message: attributes.message,
        function: attributes.lambdaContext?.functionName,
      },
    }).addAttributes(additional);
  }
}

export interface ConsoleLoggerOptions {
  /** Where lines go. @default standard error */
  readonly write?: (line: string) => void;
  /** Refused requests after the first of a burst are counted for this long, then summarised. @default 10000 */
  readonly summaryWindowMs?: number;
  readonly logLevel?: ConstructorOptions['logLevel'] | undefined;
  readonly serviceName?: string | undefined;
}

/** A value as a person reads it: strings bare (quoted when they hold spaces), errors by name and message. */
function show(value: unknown): string {
  if (value instanceof Error) {
    const cause = value.cause instanceof Error ? ` (cause: ${value.cause.name}: ${value.cause.message})` : '';
    return JSON.stringify(`${value.name}: ${value.message}${cause}`);
  }
  if (typeof value === 'string') return /^[^\s"=]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(redact(value));
  return String(value);
}

function redact(value: object): unknown {
  if (Array.isArray(value))
    return value.map((item: unknown) => (typeof item === 'object' && item !== null ? redact(item) : item));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]: [string, unknown]) => [
      key,
      SECRET_KEY.test(key)
        ? '[hidden]'
        : typeof item === 'object' && item !== null && !(item instanceof Error)
          ? redact(item)
          : item,
    ]),
  );
}

/** `HH:MM:SS` of an ISO timestamp, in local time. */
function clockTime(iso: unknown): string {
  const date = typeof iso === 'string' ? new Date(iso) : new Date();
  return date.toTimeString().slice(0, 8);
}

/** `status route error` of a refused request, e.g. `400 POST /bitrix/events validation`. */
function refusalKey(attributes: LogAttributes): string {
  let error = '';
  if (typeof attributes.body === 'string') {
    try {
      const parsed: unknown = JSON.parse(attributes.body);
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) error = ` ${String(parsed.error)}`;
    } catch {
      // Not our JSON error body: the status and the route say enough.
    }
  }
  return `${String(attributes.status ?? '?')} ${String(attributes.route ?? attributes.function ?? '?')}${error}`;
}

/**
 * @example
 * const logger = new ConsoleLogger({ write: (line) => process.stdout.write(`${line}\n`), logLevel: 'WARN' });
 * const wiring = wire(config, { logger });
 */
export class ConsoleLogger extends Logger {
  private readonly write: (line: string) => void;
  private readonly windowMs: number;
  private window: { readonly counts: Map<string, number>; readonly timer: NodeJS.Timeout } | undefined;

  constructor(options: ConsoleLoggerOptions = {}) {
    super({
      logFormatter: new OneLineLogFormatter(),
      ...(options.serviceName === undefined ? {} : { serviceName: options.serviceName }),
      ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
    });
    this.write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
    this.windowMs = options.summaryWindowMs ?? 10_000;
  }

  /** Prints the count of refused requests still held back (call it before the process stops). */
  flushSummary(): void {
    const window = this.window;
    if (window === undefined) return;
    this.window = undefined;
    clearTimeout(window.timer);
    const total = [...window.counts.values()].reduce((sum, n) => sum + n, 0);
    if (total === 0) return;
    const parts = [...window.counts].map(([key, n]) => `${n}× ${key}`).join(', ');
    this.write(`${clockTime(undefined)} WARN  ${total} more request${total === 1 ? '' : 's'} refused: ${parts}`);
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes();
    if (attributes.message === REFUSED && this.window !== undefined) {
      const key = refusalKey(attributes);
      this.window.counts.set(key, (this.window.counts.get(key) ?? 0) + 1);
      return;
    }
    if (attributes.message === REFUSED) {
      const timer = setTimeout(() => this.flushSummary(), this.windowMs);
      // A pending summary must not keep a process alive that has nothing else to do.
      timer.unref();
      this.window = { counts: new Map(), timer };
      this.write(`${clockTime(attributes.time)} WARN  request refused: ${refusalKey(attributes)}`);
      return;
    }
    const keys = Object.entries(attributes)
      .filter(([key]) => !STANDARD_KEYS.has(key))
      .map(([key, value]) => `${key}=${SECRET_KEY.test(key) ? '[hidden]' : show(value)}`);
    const level = String(attributes.level ?? '').padEnd(5);
    this.write(
      `${clockTime(attributes.time)} ${level} ${String(attributes.message)}${keys.length > 0 ? `  ${keys.join(' ')}` : ''}`,
    );
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new ConsoleLogger({ write: this.write, summaryWindowMs: this.windowMs, logLevel: options?.logLevel });
  }
}
