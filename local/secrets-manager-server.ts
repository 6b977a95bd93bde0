import { createServer, type Server } from 'node:http';

/** A local stand-in for Secrets Manager's `GetSecretValue` (there is no emulator on npm). */
export interface SecretsManagerServer {
  /** Give it to the SDK as `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /** Replaces (or adds) a secret; the next uncached read sees it. */
  setSecret(id: string, value: string): void;
  /** How many GetSecretValue calls arrived (to assert caching). */
  readonly calls: () => number;
  stop(): Promise<void>;
}

/**
 * Serves the JSON 1.1 protocol the AWS SDK speaks (`x-amz-target: secretsmanager.GetSecretValue`) on
 * 127.0.0.1. Unknown secrets answer `ResourceNotFoundException` like the real service.
 */
export async function startSecretsManagerServer(
  secrets: Record<string, string> = {},
  port = 0,
): Promise<SecretsManagerServer> {
  const store = new Map(Object.entries(secrets));
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (target !== 'secretsmanager.GetSecretValue') {
        reply(400, { __type: 'UnknownOperationException', message: `unsupported: ${target}` });
        return;
      }
      calls += 1;
      let secretId = '';
      try {
        secretId = String((JSON.parse(Buffer.concat(chunks).toString()) as { SecretId?: unknown }).SecretId ?? '');
      } catch {
        reply(400, { __type: 'ValidationException', message: 'body is not JSON' });
        return;
      }
      const value = store.get(secretId);
      if (value === undefined) {
        reply(400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretId}`,
        Name: secretId,
        SecretString: value,
        VersionId: 'local',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    setSecret: (id, value) => store.set(id, value),
    calls: () => calls,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
