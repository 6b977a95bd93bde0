import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface ClientCredentialsProps {
  /**
   * Use an existing secret instead of creating one: its name (`bitrix24/client`) or its complete ARN.
   * @default - a new secret `{"clientId": "", "clientSecret": "<generated placeholder>"}` to be filled in
   */
  readonly existingSecret?: string;
  /**
   * Key of a new secret; for an existing secret, the key it is encrypted with (so `bind` can grant
   * decryption). @default - the AWS managed key `aws/secretsmanager`
   */
  readonly encryptionKey?: IKey;
  /** Name of the environment variable `bind` sets. @default 'CLIENT_CREDENTIALS_SECRET_ID' */
  readonly secretIdEnvironmentVariable?: string;
}

/** Complete secret ARNs end in `-` plus six random characters; names and partial ARNs do not. */
const COMPLETE_ARN = /^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * The Bitrix24 application's client id and secret: one Secrets Manager secret holding
 * `{"clientId": "...", "clientSecret": "..."}` (docs/DEPLOY.md says how to fill it).
 *
 * @example
 * const credentials = new ClientCredentials(this, 'ClientCredentials', { encryptionKey: tokens.encryptionKey });
 * credentials.bind(callbackFunction);
 */
export class ClientCredentials extends Construct {
  readonly secret: ISecret;
  /** What the functions pass to `GetSecretValue`: the complete ARN, or the name of a secret imported by name. */
  readonly secretId: string;
  private readonly envName: string;
  private readonly policyArn: string;
  private readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: ClientCredentialsProps = {}) {
    super(scope, id);
    this.envName = props.secretIdEnvironmentVariable ?? 'CLIENT_CREDENTIALS_SECRET_ID';
    this.encryptionKey = props.encryptionKey;
    const existing = props.existingSecret;
    if (existing === undefined) {
      const secret = new Secret(this, 'Secret', {
        description: 'Bitrix24 application credentials: {"clientId","clientSecret"} (see docs/DEPLOY.md)',
        encryptionKey: props.encryptionKey,
        // Generated so no value sits in the template; the empty clientId makes the functions fail with
        // a clear configuration error until the real values are put in.
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ clientId: '' }),
          generateStringKey: 'clientSecret',
          excludePunctuation: true,
        },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The client secret is issued by Bitrix24 and can only be rotated in the Bitrix24 application settings; ' +
          'the new value is then put into this secret and the functions pick it up within CLIENT_CREDENTIALS_MAX_AGE_SECONDS.',
      });
      this.secret = secret;
      this.secretId = secret.secretArn;
      this.policyArn = secret.secretArn;
    } else if (COMPLETE_ARN.test(existing)) {
      this.secret = Secret.fromSecretAttributes(this, 'Secret', {
        secretCompleteArn: existing,
        encryptionKey: props.encryptionKey,
      });
      this.secretId = existing;
      this.policyArn = existing;
    } else if (existing.startsWith('arn:')) {
      throw new Error('existingSecret: pass the complete secret ARN (ending in -XXXXXX) or the secret name');
    } else {
      const partialArn = Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: existing,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.secret = Secret.fromSecretAttributes(this, 'Secret', {
        secretPartialArn: partialArn,
        encryptionKey: props.encryptionKey,
      });
      this.secretId = existing;
      // Secrets Manager appends six random characters to the name in the ARN.
      this.policyArn = `${partialArn}-??????`;
    }
  }

  /**
   * `GetSecretValue` on this one secret, and `kms:Decrypt` of its key through Secrets Manager only. Both
   * go into the grantee's own policy (the key trusts the account's IAM policies), so a consumer Lambda
   * in another stack adds no reference from this stack's key to its role.
   */
  grantRead(grantee: IGrantable): Grant {
    if (this.encryptionKey !== undefined) {
      Grant.addToPrincipal({
        grantee,
        actions: ['kms:Decrypt'],
        resourceArns: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      });
    }
    return Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.policyArn],
    });
  }

  /** Grants read and sets `CLIENT_CREDENTIALS_SECRET_ID`. */
  bind(fn: LambdaFunction): void {
    fn.addEnvironment(this.envName, this.secretId);
    this.grantRead(fn);
  }
}
