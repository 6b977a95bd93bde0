import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BitrixEmulator, EmulatorPortal } from '#local/emulator/index.js';
import { fingerprint } from '#local/emulator/tokens.js';
import { type AnyDynamoDbClient, documentClientOf } from '#shared/adapters/dynamodb/item-reader.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { keys } from '#shared/adapters/dynamodb/table-schema.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

/**
 * Where every refresh token the emulator issued to the app ended, judged against the table and the
 * notifications. A chain's refresh tokens before its live one were each spent into the next, so the
 * ledger follows each chain to its one unspent token and asks who holds it:
 * - **stored**: a token set holds it;
 * - **parked**: a recovery item (`RECOVERY#…`) holds it as the pair of a spent token, or a parked
 *   install claim holds it (the claim's own token, not verified yet, or the verified pair);
 * - **reported**: nobody holds it, and operators were told the chain is lost (`reauth_required`,
 *   `install_lost`, or `lost_write` with `pair_lost…`) — counted per portal: each report covers one
 *   lost chain of that portal;
 * - **unreported loss**: nobody holds it and nothing said so. The one outcome that must never occur.
 * A token set marked `reauth_required` while its refresh token is live is a **false reauth**.
 * Chains revoked by the portal (an uninstall) or past their refresh window are closed, not lost.
 */
export interface Ledger {
  /** Chains the emulator started for the app on the judged portals. */
  readonly chains: number;
  /** Refresh tokens it issued on them (every generation of every chain). */
  readonly issuedRefreshTokens: number;
  readonly stored: number;
  readonly parkedRecovery: number;
  readonly parkedClaim: number;
  readonly reportedLoss: number;
  readonly unreportedLoss: number;
  readonly falseReauth: number;
  /** Revoked (uninstall) or expired chains. */
  readonly closed: number;
  /** Recovery items whose spent token is not the one its token set holds: left behind, harmless. */
  readonly staleRecoveryItems: number;
  /** Loss reports on portals where the ledger found every chain held: alarms without a loss. */
  readonly reportsWithoutLoss: number;
  /** Portals of unreported losses and false reauths, for debugging (no tokens). */
  readonly suspects: readonly string[];
}

/** Notifications that tell operators a chain (or an install's chain) is gone. */
export function reportsALoss(change: TokenStatusChange): boolean {
  if (change.event === 'reauth_required' || change.event === 'install_lost') return true;
  return change.event === 'lost_write' && change.reason.startsWith('pair_lost');
}

/** A recovery item as the ledger reads it: the token it was parked for and the pair's refresh token. */
export interface RecoveryItem {
  readonly userId: number;
  readonly usedRefreshToken: string;
  readonly refreshToken: string;
}

/**
 * Every recovery item of a token set: `PORTAL#{memberId}` / `RECOVERY#{userId}#…`, one per spent
 * refresh token (`keys.recoverySk`), read directly from the table.
 */
export async function recoveryItemsOf(
  client: AnyDynamoDbClient,
  tableName: string,
  key: { readonly memberId: string; readonly userId: number },
): Promise<RecoveryItem[]> {
  const doc = documentClientOf(client);
  const found: RecoveryItem[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.portalPk(key.memberId),
          ':prefix': `${keys.recoverySkPrefix}${key.userId}#`,
        },
        ConsistentRead: true,
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of page.Items ?? []) {
      const issued = item.issued as { refreshToken?: unknown } | undefined;
      if (typeof item.usedRefreshToken === 'string' && typeof issued?.refreshToken === 'string') {
        found.push({ userId: key.userId, usedRefreshToken: item.usedRefreshToken, refreshToken: issued.refreshToken });
      }
    }
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  return found;
}

interface Holders {
  readonly stored: Map<string, { status: string }>;
  readonly recovery: Set<string>;
  readonly claims: Set<string>;
  staleRecovery: number;
}

/** Every holder of a refresh token on one portal, by the token's fingerprint (never the token). */
async function holdersOf(
  client: AnyDynamoDbClient,
  parked: DynamoDbParkedEventRepository,
  tableName: string,
  memberId: string,
): Promise<Holders> {
  const doc = documentClientOf(client);
  const holders: Holders = { stored: new Map(), recovery: new Set(), claims: new Set(), staleRecovery: 0 };
  const spentByUser = new Map<number, string>();
  const recoveries: { userId: number; used: string; issued: string }[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.portalPk(memberId) },
        ConsistentRead: true,
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of page.Items ?? []) {
      const sk = String(item.sk);
      if (sk.startsWith(keys.tokenSkPrefix) && typeof item.refreshToken === 'string') {
        holders.stored.set(fingerprint(item.refreshToken), { status: String(item.status) });
        spentByUser.set(Number(item.userId), item.refreshToken);
      } else if (sk.startsWith(keys.recoverySkPrefix)) {
        const issued = item.issued as { refreshToken?: unknown } | undefined;
        if (typeof issued?.refreshToken === 'string' && typeof item.usedRefreshToken === 'string') {
          recoveries.push({ userId: Number(item.userId), used: item.usedRefreshToken, issued: issued.refreshToken });
        }
      }
    }
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  for (const recovery of recoveries) {
    holders.recovery.add(fingerprint(recovery.issued));
    if (spentByUser.get(recovery.userId) !== recovery.used) holders.staleRecovery += 1;
  }
  for (const event of await parked.listForPortal(memberId)) {
    holders.claims.add(fingerprint(event.claim.refreshToken));
    if (event.pair !== undefined) holders.claims.add(fingerprint(event.pair.issued.refreshToken));
  }
  return holders;
}

/**
 * Draws up the ledger of `portals` (the ones the run touched), reading the table directly (not
 * through any fault layer) and the emulator's chains of the app.
 */
export async function drawLedger(input: {
  readonly emulator: BitrixEmulator;
  readonly client: AnyDynamoDbClient;
  readonly tableName: string;
  readonly portals: readonly EmulatorPortal[];
  readonly notifications: readonly TokenStatusChange[];
}): Promise<Ledger> {
  const clientId = input.emulator.app().clientId;
  const parked = new DynamoDbParkedEventRepository({ client: input.client, tableName: input.tableName, shards: 1 });
  const reports = new Map<string, number>();
  for (const change of input.notifications) {
    if (reportsALoss(change)) reports.set(change.memberId, (reports.get(change.memberId) ?? 0) + 1);
  }
  const totals = {
    chains: 0,
    issuedRefreshTokens: 0,
    stored: 0,
    parkedRecovery: 0,
    parkedClaim: 0,
    reportedLoss: 0,
    unreportedLoss: 0,
    falseReauth: 0,
    closed: 0,
    staleRecoveryItems: 0,
    reportsWithoutLoss: 0,
  };
  const suspects: string[] = [];
  for (const portal of input.portals) {
    const { memberId } = portal;
    const holders = await holdersOf(input.client, parked, input.tableName, memberId);
    totals.staleRecoveryItems += holders.staleRecovery;
    let lost = 0;
    const lostChains: string[] = [];
    let falseReauth = 0;
    for (const chain of input.emulator.chainState(portal, undefined, clientId)) {
      totals.chains += 1;
      totals.issuedRefreshTokens += chain.generation + 1;
      if (chain.state !== 'live') {
        totals.closed += 1;
        continue;
      }
      const stored = holders.stored.get(chain.refreshFingerprint);
      if (stored !== undefined) {
        totals.stored += 1;
        if (stored.status === 'reauth_required') falseReauth += 1;
      } else if (holders.recovery.has(chain.refreshFingerprint)) totals.parkedRecovery += 1;
      else if (holders.claims.has(chain.refreshFingerprint)) totals.parkedClaim += 1;
      else {
        lost += 1;
        lostChains.push(`${chain.origin} chain, generation ${chain.generation}`);
      }
    }
    // A false reauth raised a report that covers no lost chain.
    const portalReports = Math.max(0, (reports.get(memberId) ?? 0) - falseReauth);
    const reported = Math.min(lost, portalReports);
    totals.reportedLoss += reported;
    totals.unreportedLoss += lost - reported;
    totals.falseReauth += falseReauth;
    totals.reportsWithoutLoss += portalReports - reported;
    if (lost > reported) {
      suspects.push(`${memberId}: ${lost - reported} of ${lostChains.join(', ')} held nowhere and not reported`);
    }
    if (falseReauth > 0) suspects.push(`${memberId}: reauth_required with a live refresh token`);
  }
  return { ...totals, suspects };
}
