/** The shared database row of the SDK-style app (benchmark 5): what such apps keep per portal. */
export interface SdkRow {
  readonly memberId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** unix seconds */
  readonly expires: number;
  readonly clientEndpoint: string;
  readonly serverEndpoint: string;
  readonly domain: string;
  readonly userId: number;
}

/** Key of a portal's row (in a table of the token-table shape). */
export const rowKey = (memberId: string): { pk: string; sk: string } => ({ pk: `SDKROW#${memberId}`, sk: 'ROW' });
