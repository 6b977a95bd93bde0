/**
 * Operator CLI: `npm run ops -- <command>`. Works against the local store of a running `npm start`
 * (default) or a table in AWS (`--table NAME`, or `TABLE_NAME`; region and credentials from the usual
 * AWS environment). Never prints a token. Run with `--help` for the reference (also in docs/OPERATIONS.md).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleLogger } from '#local/console-logger.js';
import { docsRoutes } from '#local/docs-routes.js';
import { startLambdaHttpServer } from '#local/lambda-http-server.js';
import { readServiceDescriptor } from '#local/service-descriptor.js';
import {
  isAppError,
  LeaseHeldError,
  PortalNotFoundError,
  TokenRefreshError,
  TokenUnavailableError,
} from '#shared/core/domain/errors.js';
import type { HistoryEntry } from '#shared/core/domain/token-history.js';
import {
  collectPortalStatus,
  describePortal,
  describeRow,
  formatDuration,
  isRowStatus,
  type PortalRowStatus,
  type PortalStatusRow,
  ROW_STATUSES,
  summarizeTokenSet,
} from '#shared/core/use-cases/portal-status.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { revokePortal } from '#shared/core/use-cases/uninstall-portal.js';
import { statusPageHandlers } from '#shared/edge/status-page.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { SERVICE_NAME } from '#shared/runtime/logger.js';
import { DISCARDED_METRICS } from '#shared/runtime/metrics.js';
import { type Wiring, wire } from '#shared/runtime/wiring.js';

const USAGE = `Usage: npm run ops -- <command> [options]

Commands:
  list [--status S[,S...]]         every portal and token set, most urgent first
  show <memberId>                  one portal: installation and token sets
  refresh <memberId> [--user N]    refresh now, through the leased refresh path (default: every user)
  uninstall <memberId> [--clean]   revoke: mark uninstalled and delete its tokens
                                   (--clean: delete every item of the portal)
  sweep                            run the refresh sweep now and print its summary
  status-page [--port N]           serve the status page on http://127.0.0.1:N (default a free port)

Target (default: the local store of a running \`npm start\`):
  --data-dir DIR    data folder of the local service (default .local-data)
  --table NAME      a table in AWS; region and credentials from the AWS environment
                    (TABLE_NAME works too; refresh and sweep also need CLIENT_CREDENTIALS_SECRET_ID)

Options:
  --json            machine-readable output on stdout (progress stays on stderr)
  -h, --help        this text

Statuses: ${ROW_STATUSES.join(', ')}
Exit codes: 0 done, 1 failed (portal not found, refresh refused, AWS error), 2 wrong usage.`;

/** Where output goes: results on stdout, progress and messages on stderr. */
interface OpsIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
}

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a message for the operator (exit code 1). */
class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

const OPTIONS = {
  status: { type: 'string' },
  user: { type: 'string' },
  clean: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  table: { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  'page-size': { type: 'string' },
} as const;

type Flags = ReturnType<typeof parse>['values'];

/** Printed under every usage error instead of the whole reference. */
const HELP_HINT = 'run `npm run ops -- --help` for the commands and options';

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseProblem(error));
  }
}

/** `node:util` parseArgs' message, shortened to what is wrong (its own wording quotes unevenly). */
function parseProblem(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const option = /'(-{1,2}[^'\s]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${option} needs a value`;
  return message;
}

/** `1 portal`, `2 portals`. */
function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function wholeNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a whole number`);
  return n;
}

/** What a command works on: the service's wiring for the target, and a line naming the target. */
interface Target {
  readonly wiring: Wiring;
  readonly description: string;
}

/**
 * The service wired to the target, as a Lambda's environment wires a handler to its table: a table in
 * AWS (`--table`, or `TABLE_NAME`) with the caller's AWS credentials, or the local service of
 * `--data-dir` through the endpoints its descriptor names. Reads this process's environment, never
 * changes it.
 */
async function target(flags: Flags): Promise<Target> {
  const env = process.env;
  // Results own stdout and already say what failed and why: the service's own log lines stay quiet
  // unless POWERTOOLS_LOG_LEVEL asks for them (then one readable line each, on stderr). No metrics are
  // published from an operator's machine.
  const options = {
    logger: new ConsoleLogger({
      serviceName: SERVICE_NAME,
      logLevel: env.POWERTOOLS_LOG_LEVEL === undefined ? 'SILENT' : undefined,
    }),
    metrics: DISCARDED_METRICS,
  };
  const table = flags.table ?? env.TABLE_NAME;
  if (table !== undefined && table !== '') {
    return {
      wiring: wire(loadConfig({ ...env, TABLE_NAME: table }), options),
      description: `table ${table} in ${env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'the default AWS region'}`,
    };
  }
  const dataDir = resolve(flags['data-dir'] ?? env.LOCAL_DATA_DIR ?? '.local-data');
  let descriptor: ReturnType<typeof readServiceDescriptor>;
  try {
    descriptor = readServiceDescriptor(dataDir);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  const clock = descriptor.emulatorUrl === undefined ? undefined : await emulatorClock(descriptor.emulatorUrl);
  return {
    wiring: wire(loadConfig(descriptor.env), {
      ...options,
      aws: awsClientSettingsFromEnv(descriptor.env),
      ...(clock === undefined ? {} : { clock }),
    }),
    description: `local service ${descriptor.serviceUrl} (${dataDir})${clock === undefined ? '' : `, on the emulator's clock (${new Date(clock()).toISOString()})`}`,
  };
}

/**
 * A service against the emulator runs on the emulator's clock (`npm start`); so must its CLI, or the
 * CLI would judge expiries and due times a month off after "+31 days". Read once: the emulator's clock
 * runs at real speed between its jumps.
 */
async function emulatorClock(emulatorUrl: string): Promise<() => number> {
  try {
    const response = await fetch(new URL('/_emulator/clock', emulatorUrl), { signal: AbortSignal.timeout(3000) });
    const { now } = (await response.json()) as { now: number };
    const offset = now - Date.now();
    return () => Date.now() + offset;
  } catch (error) {
    throw new CommandError(
      `the local service's Bitrix24 emulator does not answer at ${emulatorUrl}: ${(error as Error).message}`,
    );
  }
}

function progressLine(io: OpsIo, text: string): void {
  // A TTY gets one line that updates; a log gets one line per step.
  io.stderr.write(io.stderr.isTTY === true ? `\r\x1b[2K${text}` : `${text}\n`);
}

function endProgress(io: OpsIo): void {
  if (io.stderr.isTTY === true) io.stderr.write('\n');
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function rowCells(row: PortalStatusRow, now: number): string[] {
  const d = describeRow(row, now);
  return [
    row.memberId,
    row.domain,
    row.userId === undefined ? '—' : String(row.userId),
    row.status,
    d.accessExpiresIn,
    d.refreshAge,
    d.lastRefresh,
    clip(d.lastFailure, 70),
  ];
}

const ROW_HEADERS = [
  'MEMBER_ID',
  'DOMAIN',
  'USER',
  'STATUS',
  'ACCESS EXPIRES',
  'REFRESH AGE',
  'LAST REFRESH',
  'LAST FAILURE',
];

/** `--status a,b` → the statuses it names; unknown names are a usage error. */
function statusesOf(flags: Flags): PortalRowStatus[] | undefined {
  if (flags.status === undefined) return undefined;
  const names = flags.status.split(',').map((s) => s.trim());
  const unknown = names.filter((name) => !isRowStatus(name));
  if (unknown.length > 0) throw new UsageError(`unknown status ${unknown.join(', ')}; use ${ROW_STATUSES.join(', ')}`);
  return names.filter(isRowStatus);
}

/** Usage errors in option values, found before the target is touched. */
function checkValues(flags: Flags): void {
  statusesOf(flags);
  wholeNumber(flags['page-size'], '--page-size');
  wholeNumber(flags.user, '--user');
  wholeNumber(flags.port, '--port');
}

async function list(wiring: Wiring, flags: Flags, io: OpsIo): Promise<number> {
  const statuses = statusesOf(flags);
  const pageSize = wholeNumber(flags['page-size'], '--page-size');
  const report = await collectPortalStatus(
    { listing: wiring.listing, now: wiring.clock },
    {
      statuses,
      pageSize,
      onProgress: (p) =>
        progressLine(io, `reading… page ${p.pages}, ${count(p.scanned, 'item')}, ${count(p.portals, 'portal')}`),
    },
  );
  endProgress(io);
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const counts = ROW_STATUSES.filter((s) => report.counts[s] > 0)
    .map((s) => `${report.counts[s]} ${s}`)
    .join(', ');
  const whole = `${count(report.portals, 'portal')}${counts === '' ? '' : `: ${counts}`}`;
  if (statuses === undefined) io.stdout.write(`${whole}\n`);
  else {
    // The counts cover the whole table; the rows only what the filter kept.
    const total = Object.values(report.counts).reduce((sum, n) => sum + n, 0);
    const wanted = statuses.join(', ');
    io.stdout.write(
      report.rows.length === 0
        ? `no portal matches ${wanted}; ${whole}\n`
        : `${report.rows.length} of ${count(total, 'row')} match ${wanted}; ${whole}\n`,
    );
  }
  if (report.rows.length > 0) {
    io.stdout.write(
      `${table(
        ROW_HEADERS,
        report.rows.map((r) => rowCells(r, report.generatedAt)),
      )}\n`,
    );
  }
  return 0;
}

async function show(wiring: Wiring, memberId: string, flags: Flags, io: OpsIo): Promise<number> {
  const detail = await describePortal(memberId, { tokens: wiring.tokens });
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
    return 0;
  }
  const now = wiring.clock();
  const at = (ms: number | undefined) => (ms === undefined ? '—' : new Date(ms).toISOString());
  const lines: string[] = [`portal ${memberId}`];
  const i = detail.installation;
  if (i === undefined) lines.push('  installation: none (token sets without an installation record)');
  else {
    lines.push(
      `  domain:          ${i.domain}`,
      `  installation:    ${i.status}${i.appVersion === undefined ? '' : `, app version ${i.appVersion}`}${i.appStatus === undefined ? '' : `, app status ${i.appStatus}`}`,
      `  installed:       ${at(i.installedAt)}${i.installedBy === undefined ? '' : ` by user ${i.installedBy}`}`,
      ...(i.uninstalledAt === undefined ? [] : [`  uninstalled:     ${at(i.uninstalledAt)}`]),
      `  client endpoint: ${i.clientEndpoint}`,
      `  server endpoint: ${i.serverEndpoint}`,
      `  scope:           ${i.scope ?? '—'}`,
    );
  }
  for (const row of detail.rows) {
    const d = describeRow(row, now);
    if (row.userId === undefined) {
      lines.push('', `  no token sets (${row.status})`);
      continue;
    }
    lines.push(
      '',
      `  user ${row.userId}: ${row.status}`,
      `    access token:   expires ${d.accessExpiresIn} (${at(row.accessExpiresAt)})`,
      `    refresh token:  ${d.refreshAge} (window ends ${at(row.refreshExpiresAt)})`,
      `    chain from:     ${row.source ?? '—'}`,
      `    last refresh:   ${d.lastRefresh}`,
      `    next refresh:   ${d.nextRefresh}`,
      `    last failure:   ${d.lastFailure}`,
      `    failures in a row: ${row.consecutiveFailures}`,
    );
    if (row.leaseUntil !== undefined && row.leaseUntil > now)
      lines.push(`    refresh lease held until ${at(row.leaseUntil)}`);
    const history = (row.history ?? []).map(historyLine);
    if (history.length > 0) lines.push('    history:', ...history.map((line) => `      ${line}`));
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** One entry of a token set's history as a line of `show` (what the status page draws). */
function historyLine(entry: HistoryEntry): string {
  const at = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  switch (entry.kind) {
    case 'chain':
      return `${at(entry.at)}  new chain (${entry.source.replaceAll('_', ' ')})`;
    case 'access':
      return `${at(entry.from)}  access tokens valid until ${at(entry.until)}, ${entry.refreshes} refresh${entry.refreshes === 1 ? '' : 'es'}`;
    case 'failure':
      return `${at(entry.from)}  ${entry.count === 1 ? 'refresh failed' : `${entry.count} refreshes failed until ${at(entry.to)}`}: ${entry.category} (${entry.code}) → ${entry.status}`;
  }
}

async function refresh(wiring: Wiring, memberId: string, flags: Flags, io: OpsIo): Promise<number> {
  const user = wholeNumber(flags.user, '--user');
  const tokens = wiring.tokens;
  const sets = await tokens.listTokenSets(memberId);
  const chosen = user === undefined ? sets : sets.filter((set) => set.userId === user);
  if (chosen.length === 0) {
    if (user !== undefined) throw new PortalNotFoundError(memberId, user);
    const installation = await tokens.getInstallation(memberId);
    if (installation === undefined) throw new PortalNotFoundError(memberId);
    throw new CommandError(
      `portal ${memberId} has no token sets (installation ${installation.status}): a user must open the app`,
    );
  }
  const deps = wiring.refresh;
  const results: Record<string, unknown>[] = [];
  let failed = 0;
  for (const set of chosen) {
    try {
      // "The tokens of this version must be replaced": the refresh path takes the lease, spends the
      // refresh token and stores the new pair, or returns a newer pair somebody else stored meanwhile.
      const { tokenSet, kind } = await refreshTokenSet(
        { memberId, userId: set.userId },
        { reason: 'stale_report', seenVersion: set.version },
        deps,
      );
      const summary = summarizeTokenSet(tokenSet);
      results.push({ userId: set.userId, outcome: kind, versionBefore: set.version, tokenSet: summary });
      if (!flags.json) {
        const expires = describeRow(summary, wiring.clock()).accessExpiresIn;
        io.stdout.write(
          `user ${set.userId}: ${kind} (version ${set.version} → ${tokenSet.version}), ${tokenSet.status}, access token expires ${expires}\n`,
        );
      }
    } catch (error) {
      failed += 1;
      const reason = refreshFailure(error);
      results.push({ userId: set.userId, outcome: 'failed', error: reason });
      if (!flags.json) io.stdout.write(`user ${set.userId}: not refreshed: ${reason}\n`);
    }
  }
  if (flags.json) io.stdout.write(`${JSON.stringify({ memberId, results }, null, 2)}\n`);
  return failed > 0 ? 1 : 0;
}

/** Why a refresh did not happen, with what to do about it. */
function refreshFailure(error: unknown): string {
  if (error instanceof TokenRefreshError) {
    const retry = error.retryAt === undefined ? '' : `, next attempt ${new Date(error.retryAt).toISOString()}`;
    return error.category === 'backoff'
      ? `backing off after ${error.status === 'degraded' ? 'repeated' : 'a'} failure${retry} (see \`show\`)`
      : `${error.category}; status now ${error.status}${retry}`;
  }
  if (error instanceof TokenUnavailableError)
    return `${error.reason}: ${STATUS_ACTIONS[error.reason] ?? error.message}`;
  if (error instanceof LeaseHeldError) return 'another worker is refreshing it right now; try again in a minute';
  return failureMessage(error);
}

/** What an operator does about a status that stops refreshes (docs/OPERATIONS.md has more). */
const STATUS_ACTIONS: Readonly<Record<string, string>> = {
  reauth_required: 'the chain is dead; a user of the portal must open the app (or authorize again)',
  payment_required: "the portal's subscription ended; it comes back when paid",
  invalid_client: 'the authorization server rejects our client id/secret; fix the credentials secret',
  uninstalled: 'the app was uninstalled',
  portal_deleted: 'the portal was deleted',
};

async function uninstall(wiring: Wiring, memberId: string, flags: Flags, io: OpsIo): Promise<number> {
  const outcome = await revokePortal(memberId, { clean: flags.clean }, wiring.lifecycle);
  if (outcome.kind !== 'uninstalled') throw new PortalNotFoundError(memberId);
  if (flags.json) io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else {
    io.stdout.write(
      `portal ${memberId}: ${outcome.tokenSetsDeleted} token set(s) deleted, ${
        outcome.clean ? 'every item of the portal removed' : 'installation marked uninstalled'
      }\n`,
    );
  }
  return 0;
}

async function sweep(wiring: Wiring, flags: Flags, io: OpsIo): Promise<number> {
  const { config } = wiring;
  const deps = wiring.refresh;
  let refreshed = 0;
  let failed = 0;
  const progress = () => progressLine(io, `sweeping… ${refreshed} refreshed, ${failed} failed`);
  progress();
  // Observers on the ports the sweep already reports through: a line per finished token set and
  // one per status change, on stderr.
  const observed = {
    ...deps,
    metrics: {
      count: (name: string, value?: number, dimensions?: Readonly<Record<string, string>>) => {
        deps.metrics.count(name, value, dimensions);
        if (name === 'TokensRefreshed') refreshed += value ?? 1;
        else if (name === 'RefreshFailed') failed += value ?? 1;
        else return;
        progress();
      },
      milliseconds: (name: string, value: number) => deps.metrics.milliseconds(name, value),
    },
    notifications: {
      publish: async (change: Parameters<typeof deps.notifications.publish>[0]) => {
        await deps.notifications.publish(change);
        endProgress(io);
        io.stderr.write(
          `${change.domain} user ${change.userId}: ${change.from} → ${change.to} (${change.event}, ${change.reason})\n`,
        );
      },
    },
  };
  const deadline = Date.now() + SWEEP_BUDGET_MS;
  const summary = await sweepDueTokens(
    {
      remainingMs: () => deadline - Date.now(),
      concurrency: config.REFRESH_SWEEP_CONCURRENCY,
      maxKeys: config.REFRESH_SWEEP_MAX_KEYS,
    },
    observed,
  );
  endProgress(io);
  if (flags.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const categories = Object.entries(summary.failed.byCategory)
      .map(([category, n]) => `${n} ${category}`)
      .join(', ');
    const failedText = `${summary.failed.total}${categories === '' ? '' : ` (${categories})`}`;
    const more = summary.moreDue ? ' (more due than read: run again)' : '';
    const overdue = summary.oldestOverdueMs === 0 ? '—' : formatDuration(summary.oldestOverdueMs);
    io.stdout.write(
      `due ${summary.due}, refreshed ${summary.refreshed}, failed ${failedText}, skipped ${summary.skipped}, lease held ${summary.leaseHeld}, backlog ${summary.backlog}${more}\n` +
        `oldest overdue ${overdue}, took ${summary.durationMs} ms\n`,
    );
  }
  return summary.failed.total > 0 ? 1 : 0;
}

/** A sweep from the CLI may run as long as the longest Lambda would. */
const SWEEP_BUDGET_MS = 15 * 60_000;

async function statusPage(wiring: Wiring, flags: Flags, io: OpsIo): Promise<number> {
  const port = wholeNumber(flags.port, '--port') ?? 0;
  const listing = wiring.listing;
  const page = statusPageHandlers((statuses) => collectPortalStatus({ listing, now: wiring.clock }, { statuses }));
  const server = await startLambdaHttpServer(
    { 'GET /status': page.html, 'GET /status.json': page.json, ...docsRoutes() },
    { port },
  );
  io.stdout.write(`status page: ${server.url}/status  (Ctrl-C to stop)\n`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);
  });
  await server.stop();
  return 0;
}

/** One line for the operator. Never the error object itself: a cause could carry a request. */
function failureMessage(error: unknown): string {
  if (error instanceof PortalNotFoundError) {
    const { memberId, userId } = error.details;
    return userId === undefined
      ? `portal ${memberId} not found`
      : `portal ${memberId} has no token set for user ${userId}`;
  }
  if (error instanceof CommandError || isAppError(error)) return error.message;
  // The SDK's words for a client built without a region (no AWS_REGION, no region in the profile).
  if (error instanceof Error && /^Region (is missing|not accepted)/.test(error.message)) {
    return 'no AWS region for --table: set AWS_REGION (e.g. AWS_REGION=eu-central-1) or a region in your AWS profile';
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Each command and how many positional arguments it takes. */
const ARGUMENTS: Readonly<Record<string, number>> = {
  list: 0,
  show: 1,
  refresh: 1,
  uninstall: 1,
  sweep: 0,
  'status-page': 0,
};

/**
 * Runs one CLI command and returns its exit code: 0 done, 1 failed, 2 wrong usage.
 *
 * @example
 * process.exitCode = await runOps(['list', '--status', 'reauth_required']);
 */
async function runOps(
  argv: readonly string[],
  io: OpsIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    const { values: flags, positionals } = parse(argv);
    const [command, ...args] = positionals;
    if (flags.help || command === undefined || command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return command === undefined && !flags.help ? 2 : 0;
    }
    const arity = ARGUMENTS[command];
    if (arity === undefined) throw new UsageError(`unknown command ${command}`);
    if (args.length > arity) {
      const takes = arity === 0 ? 'no arguments' : 'one memberId';
      throw new UsageError(`${command} takes ${takes}; unexpected: ${args.slice(arity).join(' ')}`);
    }
    checkValues(flags);
    const needMember = () => {
      const memberId = args[0];
      if (memberId === undefined || memberId === '') throw new UsageError(`${command} needs a memberId`);
      return memberId;
    };
    const { wiring, description } = await target(flags);
    if (!flags.json) io.stderr.write(`target: ${description}\n`);
    switch (command) {
      case 'list':
        return await list(wiring, flags, io);
      case 'show':
        return await show(wiring, needMember(), flags, io);
      case 'refresh':
        return await refresh(wiring, needMember(), flags, io);
      case 'uninstall':
        return await uninstall(wiring, needMember(), flags, io);
      case 'sweep':
        return await sweep(wiring, flags, io);
      default:
        return await statusPage(wiring, flags, io);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n${HELP_HINT}\n`);
      return 2;
    }
    io.stderr.write(`error: ${failureMessage(error)}\n`);
    return 1;
  }
}

process.exitCode = await runOps(process.argv.slice(2));
