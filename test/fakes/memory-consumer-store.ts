import type { ConsumerTokenStore } from '#shared/consumer/token-client.js';
import { domainFromEndpoint, type Installation, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import type { PortalAddressInput } from '#shared/core/ports/portal-address-store.js';

/** The consumer's view of the table, in memory, counting reads and writes. */
export class MemoryConsumerStore implements ConsumerTokenStore {
  readonly sets = new Map<string, TokenSet>();
  readonly installations = new Map<string, Installation>();
  reads = 0;
  touches: { key: TokenKey; now: number }[] = [];
  moves: { memberId: string; input: PortalAddressInput }[] = [];

  put(set: TokenSet): void {
    this.sets.set(`${set.memberId}#${set.userId}`, set);
  }

  async getInstallation(memberId: string): Promise<Installation | undefined> {
    return this.installations.get(memberId);
  }

  async getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    this.reads += 1;
    await Promise.resolve();
    return this.sets.get(`${key.memberId}#${key.userId}`);
  }

  async listTokenSets(memberId: string): Promise<TokenSet[]> {
    return [...this.sets.values()].filter((s) => s.memberId === memberId);
  }

  async touch(key: TokenKey, now: number): Promise<void> {
    this.touches.push({ key, now });
  }

  async updatePortalAddress(memberId: string, input: PortalAddressInput): Promise<void> {
    this.moves.push({ memberId, input });
    for (const [id, set] of this.sets) {
      if (set.memberId === memberId && set.clientEndpoint === input.previousClientEndpoint) {
        this.sets.set(id, {
          ...set,
          clientEndpoint: input.clientEndpoint,
          domain: domainFromEndpoint(input.clientEndpoint),
        });
      }
    }
  }
}
