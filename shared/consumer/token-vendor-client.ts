import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { AccessToken } from '#shared/core/domain/access-token.js';
import { TokenUnavailableError } from '#shared/core/domain/errors.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import {
  type GetTokenRequest,
  readDoneAnswer,
  readTokenAnswer,
  type VendorRequest,
  vendorPayload,
} from '#shared/core/domain/vendor-contract.js';

/**
 * The service's token vendor, as the consumer library asks it: every refresh and every write to the
 * token table happens there, never in a consumer.
 */
export interface TokenVendor {
  /**
   * A usable access token: the stored one while it stays valid for `minValidityMs`, else a refreshed
   * one; with `staleVersion`, a newer one than that.
   *
   * @throws the contract's typed errors (`PortalNotFoundError`, `TokenUnavailableError`, …); a vendor
   *   that cannot be reached or fails is `TokenUnavailableError('refresh_failed')`
   */
  getAccessToken(request: Omit<GetTokenRequest, 'action'>): Promise<AccessToken>;
  /** Records that this process uses the token set (the vendor writes `lastUsedAt`); does not wait for it. */
  recordUse(key: TokenKey): Promise<void>;
  /** Reports a portal's new address (a REST call met a 302); the vendor stores it once the old address confirms it. */
  portalMoved(memberId: string, previousClientEndpoint: string, clientEndpoint: string): Promise<void>;
}

/**
 * Delivers one request to the vendor and returns its answer (the JSON payload). `wait: false` only
 * hands the request over (an asynchronous invocation) and returns nothing.
 */
export type VendorInvoke = (payload: Readonly<Record<string, unknown>>, wait: boolean) => Promise<unknown>;

/**
 * The vendor over Lambda Invoke (`lambda:InvokeFunction` on the vendor function; any SDK can do the
 * same). A function error (the vendor crashed or timed out) is `TokenUnavailableError('refresh_failed')`.
 *
 * @example
 * const vendor = new TokenVendorClient(lambdaInvoke(new LambdaClient({}), 'Bitrix24TokenService-TokenVendor…'));
 */
export function lambdaInvoke(client: LambdaClient, functionName: string): VendorInvoke {
  return async (payload, wait) => {
    const output = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: wait ? 'RequestResponse' : 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    if (!wait) return undefined;
    // The vendor answers every request with a JSON body; an error here means it did not get to.
    if (output.FunctionError !== undefined) throw new VendorFailedError(output.FunctionError);
    return JSON.parse(new TextDecoder().decode(output.Payload)) as unknown;
  };
}

/** The vendor's invocation failed (`FunctionError`: it crashed or timed out). Only the kind is kept. */
class VendorFailedError extends Error {
  constructor(readonly functionError: string) {
    super(`the token vendor failed (${functionError})`);
    this.name = 'VendorFailedError';
  }
}

/**
 * `TokenVendor` over any delivery (`lambdaInvoke`, or a direct call of the handler in tests and local
 * runs): writes requests and reads answers with the contract (`shared/core/domain/vendor-contract.ts`).
 */
export class TokenVendorClient implements TokenVendor {
  constructor(private readonly invoke: VendorInvoke) {}

  async getAccessToken(request: Omit<GetTokenRequest, 'action'>): Promise<AccessToken> {
    const payload = await this.send({ action: 'getAccessToken', ...request }, request);
    return readTokenAnswer(payload, request);
  }

  async recordUse(key: TokenKey): Promise<void> {
    await this.send({ action: 'recordUse', memberId: key.memberId, userId: key.userId }, key, false);
  }

  async portalMoved(memberId: string, previousClientEndpoint: string, clientEndpoint: string): Promise<void> {
    const payload = await this.send(
      { action: 'portalMoved', memberId, previousClientEndpoint, clientEndpoint },
      {
        memberId,
      },
    );
    readDoneAnswer(payload, { memberId });
  }

  private async send(
    request: VendorRequest,
    asked: { readonly memberId: string; readonly userId?: number | undefined },
    wait = true,
  ): Promise<unknown> {
    try {
      return await this.invoke(vendorPayload(request), wait);
    } catch (error) {
      // Unreachable, throttled, crashed, timed out: the token could not be had now. The cause keeps
      // only the error's name and message (SDK errors carry no token; the request is not repeated).
      throw new TokenUnavailableError('refresh_failed', asked.memberId, asked.userId, {
        cause: error instanceof Error ? new Error(`${error.name}: ${error.message}`) : undefined,
        details: { vendorError: error instanceof VendorFailedError ? 'function_error' : 'unreachable' },
      });
    }
  }
}
