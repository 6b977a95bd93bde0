import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { ConfigError } from '#shared/core/domain/errors.js';
import type { ClientCredentials, ClientCredentialsProvider } from '#shared/core/ports/oauth-client.js';

const secretSchema = z.object({
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
});

/**
 * The app's client id and secret from Secrets Manager (a JSON secret
 * `{"clientId": "app.xxx", "clientSecret": "..."}`), cached for `maxAgeSeconds` so a rotation takes
 * effect without a redeploy.
 *
 * @example
 * const credentials = new SecretsManagerCredentials({ secretId: config.CLIENT_CREDENTIALS_SECRET_ID, maxAgeSeconds: 300 });
 * const { clientId } = await credentials.get();
 */
export class SecretsManagerCredentials implements ClientCredentialsProvider {
  private readonly provider: SecretsProvider;

  constructor(
    private readonly options: { secretId: string | undefined; maxAgeSeconds: number; client?: SecretsManagerClient },
  ) {
    this.provider = new SecretsProvider(options.client === undefined ? {} : { awsSdkV3Client: options.client });
  }

  async get(): Promise<ClientCredentials> {
    const { secretId } = this.options;
    if (secretId === undefined) throw new ConfigError('CLIENT_CREDENTIALS_SECRET_ID is not set');
    const value = await this.provider.get(secretId, { transform: 'json', maxAge: this.options.maxAgeSeconds });
    const parsed = secretSchema.safeParse(value);
    // Never echo the secret's content: name the shape only.
    if (!parsed.success)
      throw new ConfigError('client credentials secret must be JSON {"clientId": "…", "clientSecret": "…"}');
    return parsed.data;
  }
}
