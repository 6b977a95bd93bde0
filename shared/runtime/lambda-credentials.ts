import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The credential provider of the deployed functions' SDK clients. A Lambda function's credentials are
 * always in its environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), so the
 * bundles (infra/constructs/app-function.ts) put this module in place of
 * `@aws-sdk/credential-provider-node`, whose default chain (profiles, SSO, STS web identity, instance
 * metadata) would add about 95 KB to every bundle and to every cold start for nothing. Everywhere else
 * (tests, the local host, the CLI) the SDK's own chain runs.
 *
 * Same name and shape as the export it stands for, which is how the SDK clients call it.
 */
export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
