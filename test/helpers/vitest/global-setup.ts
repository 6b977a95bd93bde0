import type { TestProject } from 'vitest/node';
import { type DynamoDbServer, startDynamoDbServer } from '#local/dynamodb-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

let server: DynamoDbServer | undefined;

/** One DynamoDB Local for the whole run; each test file creates its own table in it. */
export async function setup(project: TestProject): Promise<void> {
  server = await startDynamoDbServer();
  project.provide('dynamoDbEndpoint', server.endpoint);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
